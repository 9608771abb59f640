import type { Blob, BlobType } from './blob-store.js';

/**
 * The stored form of a blob, `{"blob_type":"data","data":<canonical JSON>}`: itself JCS canonical
 * JSON (the keys are in order), so any JSON tool can read a stored blob.
 */
export function formatBlobRecord(canonicalData: string, blobType: BlobType): string {
  return `{"blob_type":${JSON.stringify(blobType)},"data":${canonicalData}}`;
}

/** Parses a stored blob record; throws an Error whose message says what is wrong with it. */
export function parseBlobRecord(text: string): Blob {
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch (err) {
    throw new Error(`not valid JSON (${(err as Error).message})`, { cause: err });
  }
  if (typeof record !== 'object' || record === null || !('data' in record) || !('blob_type' in record)) {
    throw new Error('expected {"blob_type": …, "data": …}');
  }
  const blobType = record.blob_type;
  if (blobType !== 'data' && blobType !== 'flow') throw new Error(`unknown blob_type ${JSON.stringify(blobType)}`);
  return { data: record.data, blobType };
}
