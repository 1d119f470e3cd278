// Makes the JavaScript that kedge processes keep resident smaller without moving a single line.
//
// V8 holds every module's source text for as long as the module lives (functions compile lazily
// from it), so comments and indentation cost memory in every process, twice over when a file holds
// one character beyond Latin-1 (the whole text is then stored as UTF-16). This pass drops comments,
// indentation and runs of blanks, and writes characters beyond Latin-1 in string, template and
// regular expression literals as \u escapes. Every newline stays, so the line numbers of stack
// traces still match the .ts sources (only columns move). Comments and literals are found with
// TypeScript's parser, never with patterns: a `//` inside a string or a regular expression is safe.
import ts from 'typescript';

interface Span {
  readonly start: number;
  readonly end: number;
  readonly kind: 'comment' | 'literal';
  /** A literal whose raw text is observable (a tagged template): copied as is. */
  readonly verbatim?: boolean;
}

/** Comments and literals of `source`, in order. */
function spans(source: string): Span[] {
  const file = ts.createSourceFile('module.js', source, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const out = new Map<number, Span>();
  const comments = (ranges: ts.CommentRange[] | undefined): void => {
    for (const r of ranges ?? []) out.set(r.pos, { start: r.pos, end: r.end, kind: 'comment' });
  };
  // Every token, keywords and punctuation included (getChildren, not forEachChild): a comment right
  // after a token on its line is that token's trailing comment, any after a line break the next
  // token's leading one.
  const visit = (node: ts.Node): void => {
    switch (node.kind) {
      case ts.SyntaxKind.StringLiteral:
      case ts.SyntaxKind.RegularExpressionLiteral:
      case ts.SyntaxKind.NoSubstitutionTemplateLiteral:
      case ts.SyntaxKind.TemplateHead:
      case ts.SyntaxKind.TemplateMiddle:
      case ts.SyntaxKind.TemplateTail: {
        const start = node.getStart(file);
        out.set(start, { start, end: node.getEnd(), kind: 'literal', verbatim: isTagged(node) });
        break;
      }
    }
    const children = node.getChildren(file);
    if (children.length === 0) {
      comments(ts.getLeadingCommentRanges(source, node.getFullStart()));
      comments(ts.getTrailingCommentRanges(source, node.getEnd()));
    }
    for (const child of children) visit(child);
  };
  visit(file);
  comments(ts.getLeadingCommentRanges(source, file.endOfFileToken.getFullStart()));
  return [...out.values()].sort((a, b) => a.start - b.start);
}

function isTagged(node: ts.Node): boolean {
  let n: ts.Node | undefined = node.parent;
  while (n !== undefined && (ts.isTemplateSpan(n) || ts.isTemplateExpression(n))) n = n.parent;
  return n !== undefined && ts.isTaggedTemplateExpression(n);
}

/** `text` with every UTF-16 unit beyond Latin-1 written as a \u escape (unless escaped already). */
function latin1(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out += c > 0xff && text[i - 1] !== '\\' ? `\\u${c.toString(16).padStart(4, '0')}` : text[i];
  }
  return out;
}

/** See the file comment. `source` is JavaScript; the result has exactly as many lines. */
export function compact(source: string): string {
  let out = '';
  let lineStart = true;
  const code = (text: string): void => {
    for (const ch of text) {
      if (ch === '\n') {
        if (out.endsWith(' ')) out = out.slice(0, -1);
        out += '\n';
        lineStart = true;
      } else if (ch === ' ' || ch === '\t' || ch === '\r' || ch.charCodeAt(0) > 0xff) {
        // Beyond Latin-1 outside literals and comments: what the type stripper leaves of a comment
        // inside an erased type (it blanks ASCII only). kedge has no identifiers with such letters.
        if (!lineStart && !out.endsWith(' ')) out += ' ';
      } else {
        out += ch;
        lineStart = false;
      }
    }
  };
  let at = 0;
  for (const s of spans(source)) {
    if (s.start < at) continue;
    code(source.slice(at, s.start));
    const text = source.slice(s.start, s.end);
    if (s.kind === 'literal') {
      out += s.verbatim === true ? text : latin1(text);
      lineStart = false;
    } else if (text.startsWith('//# ')) {
      // sourceURL and sourceMappingURL directives are read by V8.
      out += text;
      lineStart = false;
    } else {
      // A comment between two tokens still separates them.
      const newlines = text.split('\n').length - 1;
      code(newlines > 0 ? '\n'.repeat(newlines) : ' ');
    }
    at = s.end;
  }
  code(source.slice(at));
  return out;
}
