import { ESLint } from 'eslint';

const eslint = new ESLint();

/** What the given rules (`no-restricted-imports`) say of `code` placed at `filePath`, linted as `npm run lint` does. */
export async function restrictedImports(
  code: string,
  filePath: string,
  rules: readonly string[] = ['no-restricted-imports'],
): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => rules.includes(m.ruleId ?? '')).map((m) => m.message);
}
