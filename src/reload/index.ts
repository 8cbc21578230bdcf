export { PolicyReloader, ReloadOutcome, ReloadTrigger } from './reloader.ts';
export type { PolicyReloaderOptions, ReloadFailure, ReloadResult } from './reloader.ts';
export { DEFAULT_DEBOUNCE_MS, DEFAULT_POLL_INTERVAL_MS, DirectoryWatch, PolicyWatcher } from './watcher.ts';
export type { DirectoryWatchOptions, PolicyWatcherOptions } from './watcher.ts';
