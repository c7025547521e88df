import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildWeb } from '../../scripts/build-web';

const REPO = path.resolve(__dirname, '../..');

function referencedAssets(html: string): string[] {
  return [...html.matchAll(/(?:src|href)="([^"#:]+\.(?:js|css))"/g)].map((m) => m[1]!);
}

describe('buildWeb', () => {
  test('writes hashed assets and an index.html that refers to exactly them', async () => {
    const dist = await buildWeb();
    expect(dist).toBe(path.join(REPO, 'web', 'dist'));
    const html = readFileSync(path.join(dist, 'index.html'), 'utf8');
    const assets = referencedAssets(html);
    expect(assets).toHaveLength(2);
    for (const asset of assets) {
      expect(asset).toMatch(/^(app|styles)-[A-Z0-9]{8}\.(js|css)$/);
      expect(existsSync(path.join(dist, asset))).toBe(true);
    }
    expect(html).not.toMatch(/\{\{\w+\}\}/);
    expect(readdirSync(dist).sort()).toEqual([...assets, 'index.html'].sort());
  });

  test('is idempotent: the same sources give the same file names', async () => {
    const first = referencedAssets(readFileSync(path.join(await buildWeb(), 'index.html'), 'utf8'));
    const second = referencedAssets(readFileSync(path.join(await buildWeb(), 'index.html'), 'utf8'));
    expect(second).toEqual(first);
  });

  test('concurrent builds leave one complete build and no staging folders', async () => {
    await Promise.all([buildWeb(), buildWeb(), buildWeb()]);
    const dist = path.join(REPO, 'web', 'dist');
    for (const asset of referencedAssets(readFileSync(path.join(dist, 'index.html'), 'utf8'))) {
      expect(existsSync(path.join(dist, asset))).toBe(true);
    }
    expect(readdirSync(path.join(REPO, 'web')).filter((name) => name.startsWith('.dist-'))).toEqual([]);
  });
});

describe('buildWeb after a change', () => {
  test('replaces a stale or damaged build', async () => {
    const dist = await buildWeb();
    const [script] = referencedAssets(readFileSync(path.join(dist, 'index.html'), 'utf8'));
    rmSync(path.join(dist, script!));
    writeFileSync(path.join(dist, 'stale-OLD.js'), '');
    await buildWeb();
    expect(existsSync(path.join(dist, script!))).toBe(true);
    expect(existsSync(path.join(dist, 'stale-OLD.js'))).toBe(false);
  });
});
