// The meta rows that say which stores' token objects a store owns. Every store owns what it made
// (CKA_LABEL "ekms <store_id> <keyId>"); a restored store may also own, by adoption, objects made
// by the stores it descends from (src/durability/restore.ts says when).

/** Meta row: JSON array of the store ids whose token objects this store took over. */
export const adoptedStoreIdsName = 'adopted_store_ids';
/** Meta row: JSON array of the ids this store had before restores gave it new ones. */
export const storeIdHistoryName = 'store_id_history';

/** A meta value holding a JSON array of store ids; anything else reads as none. */
export function parseStoreIds(value: unknown): string[] {
  if (typeof value !== 'string') return [];
  try {
    const ids: unknown = JSON.parse(value);
    return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string' && id !== '') : [];
  } catch {
    return [];
  }
}
