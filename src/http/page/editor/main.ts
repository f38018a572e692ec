/// <reference lib="dom" />
/**
 * The playground's rules editor (runs in the browser): CodeMirror 6 with YAML highlighting, line numbers and
 * the rules linter's diagnostics shown inline at their line:column. esbuild bundles this file and CodeMirror into
 * one script (`node scripts/build.mjs --editor` writes it to ../editor-bundle.ts), served as /editor.js from the
 * sidecar itself: no CDN. The editor lives in a shadow root: there CodeMirror's style-mod adopts constructed
 * style sheets instead of adding <style> elements, which the page's CSP (style-src 'self') would block.
 */
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { yaml } from '@codemirror/lang-yaml';
import { bracketMatching, defaultHighlightStyle, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { lintGutter, linter, type Diagnostic } from '@codemirror/lint';
import { EditorState, type Text } from '@codemirror/state';
import { EditorView, highlightActiveLine, keymap, lineNumbers, placeholder } from '@codemirror/view';

/** One finding of the rules linter, as `POST /rules/check` answers it (line and column from 1). */
export interface RulesFinding {
  readonly severity: 'error' | 'warning';
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export interface RulesEditorOptions {
  /** Initial text. */
  readonly doc?: string;
  readonly placeholder?: string;
  /** Lints the text; resolves to the findings to show (an empty list clears them). */
  readonly lint: (text: string) => Promise<readonly RulesFinding[]>;
  /** Called after each change of the text. */
  readonly onChange?: (text: string) => void;
}

export interface RulesEditor {
  text(): string;
  setText(text: string): void;
  focus(): void;
}

/** Where a finding at line:column starts and ends in the document: the word at that place, or one character. */
export function findingRange(doc: Text, finding: Pick<RulesFinding, 'line' | 'column'>): { from: number; to: number } {
  const line = doc.line(Math.min(Math.max(1, finding.line), doc.lines));
  const from = Math.min(line.to, line.from + Math.max(0, finding.column - 1));
  let to = from;
  while (to < line.to && !/[\s:,{}[\]]/.test(line.text.charAt(to - line.from))) to += 1;
  if (to === from) to = Math.min(line.to, from + 1);
  return { from, to };
}

const theme = EditorView.theme({
  '&': { height: '290px', fontSize: '12px', backgroundColor: '#fff', borderRadius: '6px' },
  '&.cm-focused': { outline: '2px solid #bcd3ee' },
  '.cm-scroller': { fontFamily: 'ui-monospace, "SFMono-Regular", Menlo, monospace' },
  '.cm-gutters': { backgroundColor: '#f6f8fb', borderRight: '1px solid #dde2ea', color: '#6b7380' },
});

function create(host: HTMLElement, options: RulesEditorOptions): RulesEditor {
  const root = host.shadowRoot ?? host.attachShadow({ mode: 'open' });
  const rulesLinter = linter(
    async (view) => {
      const doc = view.state.doc;
      const findings = await options.lint(doc.toString());
      // The text may have changed while the linter ran; CodeMirror drops stale results, the range is clamped anyway.
      return findings.map((finding): Diagnostic => ({ ...findingRange(doc, finding), severity: finding.severity, message: finding.message, source: 'exas check' }));
    },
    { delay: 400 },
  );
  const view = new EditorView({
    parent: root,
    root,
    state: EditorState.create({
      doc: options.doc ?? '',
      extensions: [
        lineNumbers(),
        history(),
        indentOnInput(),
        bracketMatching(),
        highlightActiveLine(),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        yaml(),
        lintGutter(),
        rulesLinter,
        keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
        EditorState.tabSize.of(2),
        theme,
        placeholder(options.placeholder ?? ''),
        EditorView.contentAttributes.of({ 'aria-label': 'rules (YAML)', spellcheck: 'false' }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) options.onChange?.(update.state.doc.toString());
        }),
      ],
    }),
  });
  return {
    text: () => view.state.doc.toString(),
    setText(text) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    },
    focus: () => view.focus(),
  };
}

(globalThis as { ExasEditor?: { create: typeof create } }).ExasEditor = { create };
