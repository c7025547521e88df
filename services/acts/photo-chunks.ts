import type { Kysely, Transaction } from 'kysely';
import { asNumber } from '../shared/sql-values';
import type { ActsDatabase } from './schema';

/**
 * A photo larger than this is stored as rows of at most this many bytes (`act_image_chunks`),
 * one statement each, instead of in its act's row. A statement binding the whole photo makes
 * the driver and the engine copy it whole (better-sqlite3 copies a bound blob and SQLite builds
 * the row in another buffer; mysql2 builds one packet of it), so a photo stored in one row is
 * held about three times at once. Chunk by chunk, those copies are this size. Photos up to it
 * stay in the act's row: a listing of small acts reads them with no other query.
 */
export const PHOTO_CHUNK_BYTES = 256 * 1024;

/**
 * What `acts.image` holds for a photo stored in chunks. A photo is never empty (strict base64
 * is non-empty), so an empty image means nothing else.
 */
export const CHUNKED_PHOTO = Buffer.alloc(0);

export function isChunked(image: Uint8Array): boolean {
  return image.length === 0;
}

export function fitsInRow(photoBytes: number): boolean {
  return photoBytes <= PHOTO_CHUNK_BYTES;
}

/**
 * Writes `photo` as the chunks of act `actSeq`, in order, inside `trx`: the transaction that
 * inserted the act, so an upload that fails leaves neither the act nor any of its chunks. Each
 * chunk is a view of `photo`, never a copy.
 */
export async function writePhotoChunks(
  trx: Transaction<ActsDatabase>,
  actSeq: number,
  photo: Buffer,
): Promise<void> {
  for (let chunkNo = 0, at = 0; at < photo.length; chunkNo++, at += PHOTO_CHUNK_BYTES) {
    await trx
      .insertInto('act_image_chunks')
      .values({ act_seq: actSeq, chunk_no: chunkNo, bytes: photo.subarray(at, at + PHOTO_CHUNK_BYTES) })
      .execute();
  }
}

/** The rows of a page that a chunked photo is read for. */
interface PhotoRow {
  seq: number;
  image: Buffer;
}

/**
 * Puts the chunked photos of `rows` back in their `image`, byte for byte: one query for the
 * whole page, and none when no photo of the page is chunked. False when an act was deleted
 * (its chunks with it) after its row was read: the page is out of date and is read again.
 * An act's chunks come and go in the transaction that adds or removes the act, and one
 * statement sees a transaction whole, so an act has all its chunks or none.
 */
export async function readChunkedPhotos(db: Kysely<ActsDatabase>, rows: PhotoRow[]): Promise<boolean> {
  const chunked = new Map<number, PhotoRow>();
  for (const row of rows) if (isChunked(row.image)) chunked.set(asNumber(row.seq), row);
  if (chunked.size === 0) return true;
  const chunks = await db
    .selectFrom('act_image_chunks')
    .select(['act_seq', 'bytes'])
    .where('act_seq', 'in', [...chunked.keys()])
    .orderBy('act_seq')
    .orderBy('chunk_no')
    .execute();
  const parts = new Map<number, Buffer[]>();
  for (const chunk of chunks) {
    const seq = asNumber(chunk.act_seq);
    let list = parts.get(seq);
    if (list === undefined) parts.set(seq, (list = []));
    list.push(chunk.bytes);
  }
  if (parts.size !== chunked.size) return false;
  for (const [seq, row] of chunked) row.image = Buffer.concat(parts.get(seq)!);
  return true;
}
