/**
 * Training on glassbox's engine: sequence classifiers trained from scratch (or further) with
 * loss and gradients as ONNX graphs, AdamW on the host, and Hugging Face checkpoints out.
 */
export { trainClassifier, type Evaluation, type TrainClassifierOptions, type TrainEvent, type TrainResult } from './trainer.js';
export { crossEntropy, distillationLoss } from './loss.js';
export { addDropout, buildTrainGraph, type DropoutRates, type DropoutSite, type TrainGraph, type TrainGraphOptions } from './graphs.js';
export { clipGradNorm, createAdamW, learningRateSchedule, noDecay, type AdamW, type AdamWOptions, type ScheduleOptions } from './optim.js';
export { bertClassifierConfig, createBertClassifier, initBertWeights, type BertShape } from './init.js';
export { CHECKPOINT_FILES, saveCheckpoint, specialTokensMapJson, tokenizerConfigJson, type CheckpointParts, type SaveCheckpointOptions } from './checkpoint.js';
export { classifyIds, encodeTexts, predictTexts, scoreClassification, type ClassifyOptions, type Classified, type Prediction } from './classify.js';
export { bucketLength, checkLabels, holdOutSentences, lengthGroupedBatches, readLabelledTsv, readTsv, splitHoldout, type LabelledTexts } from './data.js';
export { createRng, shuffleInPlace, type Rng } from './rng.js';
export { createTrainProgress } from './progress.js';
export { modelCard, type ModelCardInfo } from './model-card.js';
export { DEFAULT_MODEL_NAME, defaultModelPath } from './default-model.js';
export { bertNormalize, bertPreTokenize, learnWordPieceVocab, trainWordPiece, wordPieceTokenizerJson, type TrainWordPieceOptions } from '../tokenize/train-wordpiece.js';
export { distill, meanKl, type DistillOptions, type DistillReport, type DistillResult } from './distill.js';
