/**
 * Global surrogates: an interpretable model (sparse linear over words, or a shallow tree of
 * word tests) fitted to a classifier's predictions, with its fidelity to the model.
 */
export {
  fitSurrogate,
  fitSurrogateToLabels,
  labelTexts,
  SURROGATE_FORMAT,
  SURROGATE_KINDS,
  type SurrogateKind,
  type SurrogateOptions,
  type SurrogateProgress,
  type SurrogateReport,
  type WeightedFeature,
} from './surrogate.js';
export { fitL1Logistic, predictLinear, linearScores, l1LambdaMax, type L1LogisticModel, type L1LogisticOptions } from './logistic.js';
export { fitTree, predictTree, treeRules, treeImportance, type TreeModel, type TreeNode, type TreeOptions, type TreeRule } from './tree.js';
export { buildVocabulary, vectorize, tokenizeWords, textNgrams, toFeatureMatrix, type FeatureMatrix, type Vocabulary, type VocabularyOptions } from './features.js';
export { parseTextData, goldIndices, type TextData } from './data.js';
export { renderSurrogateTerminal, renderSurrogateHtml } from './render.js';
