export { BreakwaterError, ErrorCode, hasCode } from './breakwater-error.ts';
export { HTTP_STATUS } from './http-status.ts';
