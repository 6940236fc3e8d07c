import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Records that a cdk-nag AwsSolutions finding was reviewed and accepted, with why; every one the stack
 * makes is listed in docs/deploy.md. `findings` are rule ids, with `[...]` for one finding of a rule.
 */
export function acknowledge(scope: IConstruct, reason: string, ...findings: string[]): void {
  for (const finding of findings)
    Validations.of(scope).acknowledge({ id: `AwsSolutions-${finding}`, reason });
}
