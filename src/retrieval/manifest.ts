/**
 * The index folder's manifest: what the index was built from (run, weights, config, gallery files) and
 * what it holds (one vector file, and optionally one HNSW graph, per task), each file with its sha256, and
 * a checksum over the manifest itself. Reading checks all of it before anything is used.
 *
 *   INDEX_DIR/manifest.json
 *   INDEX_DIR/vectors/<task position>-<sha256 prefix>.f32   float32 rows, one per gallery file, in manifest order
 *   INDEX_DIR/hnsw/<task position>-<sha256 prefix>.usearch  USearch HNSW graph keyed by gallery file id
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { FIT_MODES } from '../data/image.js';
import { MtlzooError } from '../errors.js';
import { stableStringify } from '../util/hash.js';

export const INDEX_FORMAT = 'mtlzoo-index/1';
export const MANIFEST_FILE = 'manifest.json';

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 in hex');
const count = z.number().int().nonnegative();

const galleryFile = z.strictObject({
  /** Stable id: the key in HNSW graphs; never reused within an index. */
  id: count,
  /** Relative to the gallery root, with forward slashes. */
  path: z.string().min(1),
  size: count,
  mtimeMs: z.number(),
  sha256: sha256Hex,
});

const storedFile = z.strictObject({ file: z.string().min(1), sha256: sha256Hex });

const hnsw = storedFile.extend({
  connectivity: z.number().int().positive(),
  expansionAdd: z.number().int().positive(),
  expansionSearch: z.number().int().positive(),
  /** Recall@10 against exact search on `recallQueries` gallery vectors as queries (themselves left out). */
  recallAt10: z.number().min(0).max(1),
  recallQueries: count,
});

const manifestSchema = z.strictObject({
  format: z.literal(INDEX_FORMAT),
  generatedBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  run: z.strictObject({
    dir: z.string(),
    checkpoint: z.enum(['best', 'last']),
    weightsSha256: sha256Hex,
    configHash: z.string(),
    method: z.string(),
    backbone: z.string(),
    /** Every task of the run, in model order. */
    tasks: z.array(z.string()).min(1),
  }),
  model: z.strictObject({
    inputShape: z.tuple([z.number().int().positive(), z.number().int().positive(), z.literal(3)]),
    embeddingDim: z.number().int().positive(),
    fit: z.enum(FIT_MODES),
  }),
  /** Squared L2 distance between L2-normalised embeddings, 0 to 4 (cosine similarity = 1 − d/2). */
  distance: z.literal('squared-l2'),
  gallery: z.strictObject({
    root: z.string(),
    nextId: count,
    files: z.array(galleryFile),
    /** Files that could not be embedded, with the reason. */
    skipped: z.array(z.strictObject({ path: z.string(), reason: z.string() })),
  }),
  tasks: z.array(z.strictObject({ name: z.string(), vectors: storedFile, hnsw: hnsw.optional() })).min(1),
  build: z.strictObject({
    backend: z.string(),
    /** Backbone stages run once per image for all tasks (0: every task needs a full pass). */
    sharedStages: count,
    seconds: z.number().nonnegative(),
  }),
  checksum: sha256Hex,
});

export type IndexManifest = z.output<typeof manifestSchema>;
export type GalleryFile = IndexManifest['gallery']['files'][number];
export type TaskEntry = IndexManifest['tasks'][number];
export type HnswEntry = NonNullable<TaskEntry['hnsw']>;
export type ManifestBody = Omit<IndexManifest, 'checksum'>;

export function indexError(dir: string, message: string): MtlzooError {
  return new MtlzooError('INDEX_INVALID', `${dir}: ${message}`);
}

function checksumOf(body: ManifestBody): string {
  return createHash('sha256').update(stableStringify(body)).digest('hex');
}

export function sealManifest(body: ManifestBody): IndexManifest {
  const { checksum: _ignored, ...rest } = body as IndexManifest;
  return { ...rest, checksum: checksumOf(rest) };
}

/** Reads and checks `dir/manifest.json`: JSON, schema, and its own checksum. */
export async function readManifest(dir: string): Promise<IndexManifest> {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw indexError(
      dir,
      code === 'ENOENT'
        ? `not an index folder (no ${MANIFEST_FILE}); build one with mtlzoo index build`
        : `cannot read ${MANIFEST_FILE}: ${(error as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw indexError(
      dir,
      `${MANIFEST_FILE} is not valid JSON (${(error as Error).message}); the file is damaged`,
    );
  }
  const format = (json as { format?: unknown } | null)?.format;
  if (format !== INDEX_FORMAT) {
    throw indexError(dir, `${MANIFEST_FILE} has format ${JSON.stringify(format)}, expected ${INDEX_FORMAT}`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw indexError(dir, `${MANIFEST_FILE}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const manifest = parsed.data;
  const { checksum, ...body } = manifest;
  if (checksumOf(body) !== checksum) {
    throw indexError(dir, `${MANIFEST_FILE} does not match its own checksum: it was edited or damaged`);
  }
  return manifest;
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
