export { listenOrFail } from './listen.ts';
export { CONNECT_ERROR_CODES, isConnectError } from './connect-error.ts';
