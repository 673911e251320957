/**
 * The one list of supported architecture families. The CLI's `glassbox models`, the docs
 * and the loader's "unknown model_type" error are all generated from it.
 */
import { fail } from '../errors.js';
import { bert, roberta } from './bert.js';
import { distilbert } from './distilbert.js';
import { gpt2 } from './gpt2.js';
import { llama } from './llama.js';
import type { Architecture } from './types.js';

export const ARCHITECTURES: readonly Architecture[] = [gpt2, llama, bert, roberta, distilbert];

export function supportedModelTypes(): string[] {
  return ARCHITECTURES.flatMap((a) => a.modelTypes);
}

export function architectureFor(modelType: unknown, where: string): Architecture {
  const arch = ARCHITECTURES.find((a) => typeof modelType === 'string' && a.modelTypes.includes(modelType));
  if (!arch) {
    fail('UNSUPPORTED_MODEL', `model_type ${JSON.stringify(modelType ?? null)} is not supported`, {
      where,
      hint: `Supported model types: ${supportedModelTypes().join(', ')}`,
    });
  }
  return arch;
}
