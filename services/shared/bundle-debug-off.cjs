/* global module */
/**
 * What the services bundle (services/shared/bundle.json) gets instead of the `debug` package
 * that express, its router and finalhandler log their internals through, only when the DEBUG
 * environment variable names them. The services log through their own logger and never set it;
 * the package's terminal detection (tty, os) and formatting cost an idle replica about 0.5 MB.
 * Every logger it hands out is off and does nothing.
 */
function createDebug() {
  const debug = function debug() {};
  debug.enabled = false;
  debug.extend = createDebug;
  return debug;
}
createDebug.enabled = function enabled() {
  return false;
};
module.exports = createDebug;
