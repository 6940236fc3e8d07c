// The floor of `npm run bench:cold-start`: a handler that imports nothing, bundled as the Lambdas are.
export const handler = async (): Promise<Record<string, never>> => ({});
