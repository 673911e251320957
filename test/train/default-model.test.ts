/**
 * The bundled model, models/sst2-bert-tiny (made by `npm run train:default`): a complete
 * Hugging Face checkpoint within the 8 MB budget that loads with `loadModel` and reaches at
 * least 80% accuracy on the 872 SST-2 dev sentences (its model card reports the exact figure).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadModel } from '../../src/models/model.js';
import { CHECKPOINT_FILES } from '../../src/train/checkpoint.js';
import { predictTexts } from '../../src/train/classify.js';
import { readLabelledTsv } from '../../src/train/data.js';
import { defaultModelPath } from '../../src/train/default-model.js';

const DIR = defaultModelPath();
const DEV = join(import.meta.dirname, '../../../shared/data/sst2/dev.tsv');

describe('the bundled model', { skip: existsSync(DIR) ? false : `${DIR} is missing (npm run train:default)` }, () => {
  test('is a complete checkpoint of at most 8 MB with a model card', () => {
    for (const f of [...CHECKPOINT_FILES, 'README.md']) assert.ok(existsSync(join(DIR, f)), f);
    const bytes = readdirSync(DIR).reduce((s, f) => s + statSync(join(DIR, f)).size, 0);
    assert.ok(bytes <= 8e6, `${(bytes / 1e6).toFixed(2)} MB`);
    const card = readFileSync(join(DIR, 'README.md'), 'utf8');
    for (const section of ['## Data', '## Architecture', '## Training', '## Results', '## Limitations']) assert.ok(card.includes(section), section);
  });

  test('reaches at least 80% accuracy on SST-2 dev', { skip: existsSync(DEV) ? false : 'no SST-2 dev set' }, async () => {
    const model = await loadModel(DIR);
    assert.equal(model.className, 'BertForSequenceClassification');
    const dev = readLabelledTsv(DEV);
    const predictions = await predictTexts(model, dev.texts);
    const accuracy = predictions.filter((p, i) => p.labelId === dev.labels[i]).length / dev.texts.length;
    assert.ok(accuracy >= 0.8, `dev accuracy ${accuracy}`);
    const [good, bad] = await predictTexts(model, ['a gorgeous , funny and moving film .', 'a dull , lifeless and painfully boring mess .']);
    assert.equal(good!.label, 'positive');
    assert.equal(bad!.label, 'negative');
  });
});
