import { Lexer } from 'yaml';
import { formatCount, limitMessage, POLICY_LIMITS, type OffsetProblem } from './limits.ts';

// Lexer markers that stand for no source text (doc mode, plain scalar, flow error end).
const MARKERS = new Set(['\x02', '\x1f', '\x18']);

/**
 * Runs the YAML lexer alone over `text`, counting tokens and flow nesting, and stops at the first
 * bound exceeded. Lexing costs ~1 µs a token; building the document from the same tokens costs
 * several times more and its memory grows with them, so this pass keeps the expensive one bounded
 * (a 1 MiB file of 63,816 keys stalled a reload for ~50 s before these bounds existed).
 */
export function scanTokens(text: string): OffsetProblem | null {
  const { maxTokens, maxDepth } = POLICY_LIMITS;
  let tokens = 0;
  let flowDepth = 0;
  let offset = 0;
  for (const lexeme of new Lexer().lex(text)) {
    if (MARKERS.has(lexeme)) continue;
    if (++tokens > maxTokens) {
      return {
        offset,
        message: limitMessage(`at most ${formatCount(maxTokens)} YAML tokens`, 'more'),
      };
    }
    if (lexeme === '[' || lexeme === '{') {
      if (++flowDepth > maxDepth)
        return { offset, message: limitMessage(`at most ${maxDepth} levels of nesting`, 'more') };
    } else if ((lexeme === ']' || lexeme === '}') && flowDepth > 0) {
      flowDepth--;
    }
    offset += lexeme.length;
  }
  return null;
}
