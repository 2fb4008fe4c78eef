// Finds JavaScript that turns strings into code: `eval` (called directly, indirectly or through a
// global object), the Function constructor (`new Function`, `Function(...)`, `globalThis.Function`),
// calls of some value's `.constructor(...)` (the way to reach Function/AsyncFunction without naming
// it), and setTimeout/setInterval/setImmediate with a string. It parses the file with TypeScript
// (already a devDependency) instead of searching text, because the library has a PyTorch-style
// `module.eval()` METHOD (`eval() {`, `this.model.eval()`), which is not the global eval and must
// not count, while `(0, eval)(s)` must.
import ts from 'typescript';

export interface DynamicCode {
  /** 1-based line and column in the file. */
  line: number;
  column: number;
  what: string;
  /** The source of the offending expression, cut to 120 characters. */
  code: string;
}

const GLOBAL_OBJECTS = new Set(['globalThis', 'window', 'self', 'global', 'frames', 'top', 'parent']);
const CODE_FROM_STRING = new Set(['eval', 'Function']);
const DECLARATION_NAME_PARENTS = new Set([
  ts.SyntaxKind.MethodDeclaration,
  ts.SyntaxKind.PropertyDeclaration,
  ts.SyntaxKind.PropertyAssignment,
  ts.SyntaxKind.GetAccessor,
  ts.SyntaxKind.SetAccessor,
  ts.SyntaxKind.MethodSignature,
  ts.SyntaxKind.PropertySignature,
]);

function unparenthesize(e: ts.Expression): ts.Expression {
  while (ts.isParenthesizedExpression(e)) e = e.expression;
  // `(0, eval)` is an indirect eval: the value of a comma expression is its right-hand side.
  if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.CommaToken) return unparenthesize(e.right);
  return e;
}

function isGlobalObject(e: ts.Expression): boolean {
  const u = unparenthesize(e);
  return ts.isIdentifier(u) && GLOBAL_OBJECTS.has(u.text);
}

/** The name a callee or member refers to: `eval`, `globalThis.eval`, `window['Function']`, ... */
function globalName(e: ts.Expression): string | undefined {
  const u = unparenthesize(e);
  if (ts.isIdentifier(u)) return u.text;
  if (ts.isPropertyAccessExpression(u) && isGlobalObject(u.expression)) return u.name.text;
  if (ts.isElementAccessExpression(u) && isGlobalObject(u.expression) && ts.isStringLiteralLike(u.argumentExpression)) {
    return u.argumentExpression.text;
  }
  return undefined;
}

export function findDynamicCode(source: string, fileName = 'input.js'): DynamicCode[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const found: DynamicCode[] = [];
  const report = (node: ts.Node, what: string) => {
    const { line, character } = file.getLineAndCharacterOfPosition(node.getStart(file));
    found.push({ line: line + 1, column: character + 1, what, code: node.getText(file).slice(0, 120) });
  };

  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && node.text === 'eval') {
      const parent = node.parent;
      const isMemberName = ts.isPropertyAccessExpression(parent) && parent.name === node;
      const isDeclaredName = DECLARATION_NAME_PARENTS.has(parent.kind) && (parent as ts.NamedDeclaration).name === node;
      if (isMemberName) {
        if (isGlobalObject(parent.expression)) report(parent, 'eval through a global object');
      } else if (!isDeclaredName) {
        // Any other mention of the identifier eval is the global function: called, aliased or passed.
        report(parent && ts.isCallExpression(parent) && parent.expression === node ? parent : node, 'eval');
      }
    }
    if (ts.isElementAccessExpression(node) && ts.isStringLiteralLike(node.argumentExpression)) {
      if (CODE_FROM_STRING.has(node.argumentExpression.text) && isGlobalObject(node.expression)) {
        report(node, `${node.argumentExpression.text} through a global object`);
      }
    }
    if (ts.isNewExpression(node) || ts.isCallExpression(node)) {
      const callee = node.expression;
      const name = globalName(callee);
      const u = unparenthesize(callee);
      if (name === 'Function') {
        report(node, ts.isNewExpression(node) ? 'new Function' : 'Function(...)');
      } else if (ts.isPropertyAccessExpression(u) && u.name.text === 'constructor') {
        report(node, 'a call of .constructor(...) (reaches Function / AsyncFunction)');
      } else if (
        name !== undefined &&
        ['setTimeout', 'setInterval', 'setImmediate'].includes(name) &&
        node.arguments?.[0] !== undefined &&
        (ts.isStringLiteralLike(node.arguments[0]) || ts.isTemplateExpression(node.arguments[0]))
      ) {
        report(node, `${name} with a string`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** The same, formatted one finding per line for an assertion message. */
export function describeDynamicCode(found: DynamicCode[], fileName: string): string {
  return found.map((f) => `${fileName}:${f.line}:${f.column} ${f.what}: ${f.code}`).join('\n');
}
