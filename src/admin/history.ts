import type { ServerResponse } from 'node:http';
import { sendJson } from '../health/index.ts';
import { HISTORY_BUCKETS, HISTORY_BUCKET_MS, type HistoryView } from '../history/index.ts';

/** What `GET /history` reads. */
export interface HistorySource {
  view(): HistoryView;
}

const EMPTY: HistoryView = Object.freeze({
  bucket_seconds: HISTORY_BUCKET_MS / 1000,
  capacity: HISTORY_BUCKETS,
  buckets: [],
});

/** `GET /history`: the buckets kept, oldest first (docs/operations.md#history). */
export function sendHistory(res: ServerResponse, source: HistorySource | undefined): void {
  sendJson(res, 200, source?.view() ?? EMPTY);
}
