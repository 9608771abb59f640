import type { Metadata } from '../../protocol/index.js';

/** Whether `metadata` holds every key of `wanted` with the same value and type (the `runs/list` filter). */
export function metadataMatches(metadata: Metadata | undefined, wanted: Metadata): boolean {
  for (const key of Object.keys(wanted)) {
    if (metadata === undefined || !Object.prototype.hasOwnProperty.call(metadata, key) || metadata[key] !== wanted[key]) return false;
  }
  return true;
}
