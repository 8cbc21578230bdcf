export { BreakwaterError, ErrorCode, hasCode } from './breakwater-error.ts';
