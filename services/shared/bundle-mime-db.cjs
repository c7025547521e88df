/* global module */
/**
 * What the services bundle (services/shared/bundle.json) gets instead of mime-db's full table of
 * some 2,500 MIME types, which mime-types (through express) turns into its lookup maps at start:
 * compiling the table and building the maps took a third of an acts replica's start-up.
 * The services answer JSON through their own writer (services/shared/json-response.ts) or
 * res.json; the only MIME lookups that can happen at run time are the constant ones express makes
 * itself: res.json and res.jsonp (application/json, text/javascript), res.send of a string or of
 * bytes (html, bin), res.sendStatus (txt) and res.redirect's res.format (text, html). None takes
 * a type from the request. These entries are mime-db's own, byte for byte, except that
 * application/octet-stream lists only the extensions that resolve to it in the full table (exe,
 * dll, deb, dmg, iso and msi resolve to other types there): every lookup gives what the full table
 * gives, or nothing. test/services/bundle-mime.test.ts compares them with the installed mime-db.
 */
module.exports = {
  'application/json': { source: 'iana', charset: 'UTF-8', compressible: true, extensions: ['json', 'map'] },
  'application/octet-stream': {
    source: 'iana',
    compressible: true,
    extensions: [
      'bin',
      'dms',
      'lrf',
      'mar',
      'so',
      'dist',
      'distz',
      'pkg',
      'bpk',
      'dump',
      'elc',
      'deploy',
      'img',
      'msp',
      'msm',
      'buffer',
    ],
  },
  'text/html': { source: 'iana', compressible: true, extensions: ['html', 'htm', 'shtml'] },
  'text/javascript': { source: 'iana', charset: 'UTF-8', compressible: true, extensions: ['js', 'mjs'] },
  'text/plain': {
    source: 'iana',
    compressible: true,
    extensions: ['txt', 'text', 'conf', 'def', 'list', 'log', 'in', 'ini'],
  },
};
