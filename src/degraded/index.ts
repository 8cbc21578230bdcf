export { degradedAnswer } from './answer.ts';
export type { DegradedAnswer } from './answer.ts';
