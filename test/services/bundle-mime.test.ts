import { buildSync, type BuildOptions } from 'esbuild';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import bundle from '../../services/shared/bundle.json';
import { REPO_ROOT } from './processes';

type Lookup = (input: string) => string | false;
interface MimeTypes {
  lookup: Lookup;
  contentType: Lookup;
  charset: Lookup;
  extension: Lookup;
  extensions: Record<string, string[]>;
  types: Record<string, string>;
}
type MimeEntry = { source?: string; charset?: string; compressible?: boolean; extensions?: string[] };

/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS packages without type declarations */
/** The real packages, as express outside the bundle loads them, and the bundle's table. */
const fullMime = require('mime-types') as MimeTypes;
const db = require('mime-db') as Record<string, MimeEntry>;
const aliasDb = require('../../services/shared/bundle-mime-db.cjs') as Record<string, MimeEntry>;
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * The MIME lookups express can make at run time in the services, all with constant arguments
 * (services/shared/bundle-mime-db.cjs): res.json and res.jsonp's application/json and
 * text/javascript, res.send's html (a string) and bin (bytes), res.sendStatus's txt,
 * res.redirect's res.format over text and html (req.accepts, then the chosen type set as
 * Content-Type), and the Content-Type each of these ends up setting.
 */
const USED = [
  'html',
  'bin',
  'txt',
  'text',
  'application/json',
  'text/javascript',
  'text/html',
  'text/plain',
  'application/octet-stream',
];

/** mime-types as the services bundle holds it: built with the bundle's own options and aliases. */
function bundledMimeTypes(): MimeTypes {
  const built = buildSync({
    ...(bundle.esbuild as BuildOptions),
    stdin: { contents: "module.exports = require('mime-types');", resolveDir: REPO_ROOT, loader: 'js' },
    absWorkingDir: REPO_ROOT,
    write: false,
    logLevel: 'error',
  });
  const module = { exports: {} as MimeTypes };
  new Function('module', 'exports', 'require', built.outputFiles[0]!.text)(module, module.exports, require);
  return module.exports;
}

describe('the services bundle holds a MIME table of only the types express can ask for', () => {
  const bundled = bundledMimeTypes();

  test('the bundle takes the small table, not the full one', () => {
    expect(Object.keys(bundled.extensions).sort()).toEqual(Object.keys(aliasDb).sort());
    expect(Object.keys(fullMime.extensions).length).toBeGreaterThan(1000);
  });

  test.each(USED)('%s resolves exactly as with the full mime-db', (input) => {
    expect(bundled.contentType(input)).not.toBe(false);
    for (const fn of ['lookup', 'contentType', 'charset', 'extension'] as const)
      expect([fn, bundled[fn](input)]).toEqual([fn, fullMime[fn](input)]);
  });

  test('every entry is the full mime-db entry, with only extensions that resolve to it there', () => {
    for (const [type, entry] of Object.entries(aliasDb)) {
      const { extensions, ...rest } = entry;
      const { extensions: fullExtensions, ...fullRest } = db[type]!;
      expect([type, rest]).toEqual([type, fullRest]);
      expect(extensions![0]).toBe(fullExtensions![0]);
      expect(fullExtensions).toEqual(expect.arrayContaining(extensions!));
      // Nothing left out that the full table resolves to this type.
      expect([type, extensions]).toEqual([type, fullExtensions!.filter((e) => fullMime.lookup(e) === type)]);
      for (const ext of extensions!) expect([ext, bundled.lookup(ext)]).toEqual([ext, fullMime.lookup(ext)]);
      for (const fn of ['contentType', 'charset', 'extension'] as const)
        expect([type, fn, bundled[fn](type)]).toEqual([type, fn, fullMime[fn](type)]);
    }
  });

  test('any other lookup finds nothing rather than a different type', () => {
    for (const type of Object.keys(db)) {
      if (bundled.extension(type) !== false) expect(bundled.extension(type)).toBe(fullMime.extension(type));
      const charset = bundled.charset(type);
      if (charset !== false) expect(charset).toBe(fullMime.charset(type));
    }
    for (const ext of Object.keys(fullMime.types))
      if (bundled.lookup(ext) !== false) expect(bundled.lookup(ext)).toBe(fullMime.lookup(ext));
  });

  // Only express's own constant lookups are covered: a service that passed a type of its own to
  // express (res.type, res.format, req.is, req.accepts, res.attachment, res.download,
  // res.sendFile, a Content-Type through res.set) must add it to USED and to the table.
  test('the services pass express no MIME type of their own', () => {
    const sources = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
        d.isDirectory()
          ? sources(path.join(dir, d.name))
          : d.name.endsWith('.ts')
            ? [path.join(dir, d.name)]
            : [],
      );
    const found: string[] = [];
    const mimeApis =
      /\.(type|contentType|format|is|accepts|acceptsCharsets|acceptsEncodings|acceptsLanguages|attachment|download|sendFile)\(|\.(set|header)\(\s*(\{|['"`]content-type)/gi;
    for (const file of sources(path.join(REPO_ROOT, 'services')))
      for (const m of readFileSync(file, 'utf8').matchAll(mimeApis))
        found.push(`${path.relative(REPO_ROOT, file)}: ${m[0]}`);
    expect(found).toEqual([]);
  });
});
