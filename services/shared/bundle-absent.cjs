/* global module */
/**
 * What the services bundle (services/shared/bundle.json) gets instead of the packages express
 * loads for features the services never use: its body parsers (ours is services/shared/body.ts),
 * static files, sendFile, the extended query parser (the services keep express's "simple" one),
 * cookies, attachments and ETags (turned off in services/shared/service-app.ts; the ETag package
 * alone would load node:crypto into every acts replica). Loading them cost a replica several megabytes of memory at rest.
 * Any use of them fails loudly (undefined is not a function), never silently.
 */
module.exports = {};
