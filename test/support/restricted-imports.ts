import { ESLint } from 'eslint';

const eslint = new ESLint();

/** What `no-restricted-imports` says of `code` placed at `filePath`, linted as `npm run lint` does. */
export async function restrictedImports(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}
