/**
 * The worker side of a TrainingSession: one LanguageModel, its tokenizer and (with a text) its
 * LMTrainer, driven by requests (protocol.ts). Training runs as `LMTrainer.run`, which yields to
 * the event loop between steps, so requests that arrive during a run (pause, checkpoint, generate,
 * evaluate) are answered between two steps: a checkpoint is always of a whole step.
 *
 * Generation draws from a snapshot of the weights taken when it starts, so it streams at its own
 * pace while training goes on.
 */
import { initWorker } from '../init';
import { tidy } from '../memory';
import { Generator } from '../random';
import { FormatError, ValueError } from '../errors';
import { LanguageModel, generateText } from '../lm/language-model';
import type { Tokenizer } from '../text/tokenizer';
import type { LMTrainer, RunResult } from '../training/trainer';
import { scoreTokens, type ScoreResult } from '../lm/evaluate';
import { decodeCheckpoint, encodeCheckpoint, modelFromCheckpoint, type DecodedCheckpoint } from '../training/checkpoint';
import { quantize } from '../lm/quantize';
import type { QuantDtype } from '../nn/quantized';
import type { Args } from '../workers/protocol';
import {
  checkTrainingText, checkpointExtra, createTraining, decodeTrainingText, fineTuneSettings, fineTuneTraining, prepareTrainingData, resumeTraining,
  settingsFromCheckpoint, storedSettings, withCheckpointModel, defaultThreads, type TrainingData,
} from '../training/setup';
import { checkTrainingSettings, DEFAULT_TRAINING_SETTINGS, SETTING_NAMES, type TrainingSettings } from '../training/settings';
import { handle, type HandlerContext, type Service } from '../workers/serve';
import { ALREADY_OPEN, READ_AHEAD, SESSION, type EvaluateArgs, type OpenArgs, type RunArgs, type SessionInfo, type SessionMethods } from './protocol';

/**
 * The worker's service of session requests (`session.<method>`); `emit` sends events (progress).
 * One session per worker: the host is made when the first request arrives, and every method but
 * `open` needs it open.
 */
export function sessionService(emit: (event: string, value: unknown) => void): Service {
  let host: SessionHost | null = null;
  const session = (): SessionHost => (host ??= new SessionHost(emit));
  const opened = (method: keyof SessionMethods): Opened => session().openedFor(method);
  return handle(SESSION, {
    open: (args) => session().open(args),
    train: (args) => session().train(opened('train'), args),
    pause: () => session().pause(opened('pause')),
    resume: () => {
      opened('resume');
      return session().resume();
    },
    stop: () => {
      opened('stop');
      return session().stop();
    },
    checkpoint: (args) => session().checkpoint(opened('checkpoint'), args?.dtype ?? null),
    generate: (args, context) => session().generate(opened('generate'), context, args),
    read: (args) => {
      opened('read');
      return session().read(args.target, args.read);
    },
    cancel: (args) => {
      opened('cancel');
      return session().cancel(args.target);
    },
    evaluate: (args) => session().evaluate(opened('evaluate'), args),
  });
}

interface Opened {
  settings: TrainingSettings;
  model: LanguageModel;
  tokenizer: Tokenizer;
  /** Null for a session from a checkpoint without text (it only generates and evaluates). */
  training: { trainer: LMTrainer; data: TrainingData } | null;
  /** The checkpoint's bytes, for a session that cannot train (its checkpoint never changes). */
  bytes: Uint8Array | null;
  /** The step the checkpoint was at, for a session that cannot train (0 for a weights-only one). */
  checkpointStep: number;
}

interface Run {
  controller: AbortController;
  done: Promise<RunResult>;
}

class SessionHost {
  private opened: Opened | null = null;
  private run: Run | null = null;
  /** While paused: the promise the run waits on, and its release. */
  private gate: { wait: Promise<void>; release: () => void } | null = null;
  /** pause() calls waiting for the run to reach its gate. */
  private pauseAcks: (() => void)[] = [];
  /** True while the run waits at the gate (a pause() then answers at once). */
  private atGate = false;
  private generations = new Map<number, Generation>();
  /** Work that must see a whole step (checkpoints), run at the run's next gate or its end. */
  private betweenSteps: (() => void)[] = [];

  constructor(private readonly emit: (event: string, value: unknown) => void) {}

  /** The opened session, for `method`; a ValueError before `open`. */
  openedFor(method: keyof SessionMethods): Opened {
    if (this.opened === null) throw new ValueError(`TrainingSession.${method}: the session is not open`);
    return this.opened;
  }

  async open(args: OpenArgs): Promise<SessionInfo> {
    if (this.opened !== null) throw new ValueError(`createTrainingSession: ${ALREADY_OPEN}; give each session a worker of its own (or none: it starts one)`);
    await initWorker(args.compute);
    const given = checkGivenSettings(args.settings);
    const text = args.text === null ? null : typeof args.text === 'string' ? checkTrainingText(args.text) : decodeTrainingText(args.text);
    const ck = args.checkpoint === null ? null : decodeCheckpoint(args.checkpoint);
    if (text === null && ck === null) throw new ValueError('createTrainingSession: give a text to train on, a checkpoint, or both (to resume training)');
    // `?? null`: a request from another copy of the library may not know `from`.
    const from = args.from ?? null;
    if (from !== null) {
      if (text === null || ck !== null) throw new ValueError('createTrainingSession: from (a model to fine-tune) needs a text, and no checkpoint');
      const base = decodeCheckpoint(from);
      const settings = fineTuneSettings(base, given);
      const data = prepareTrainingData(text, settings, [args.source], base.tokenizer);
      const { model, trainer } = fineTuneTraining(settings, data, base, threadsFor(args.threads, settings));
      this.opened = { settings, model, tokenizer: base.tokenizer, training: { trainer, data }, bytes: null, checkpointStep: 0 };
    } else if (ck === null) {
      const settings = checkTrainingSettings(given, 'createTrainingSession: settings');
      const data = prepareTrainingData(text!, settings, [args.source]);
      const { model, trainer } = createTraining(settings, data, threadsFor(args.threads, settings));
      this.opened = { settings, model, tokenizer: data.tokenizer, training: { trainer, data }, bytes: null, checkpointStep: 0 };
    } else if (text === null) {
      const settings = checkpointSettings(ck);
      threadsFor(args.threads, settings); // checked though unused: training needs a text
      const model = modelFromCheckpoint(ck);
      this.opened = {
        settings, model, tokenizer: ck.tokenizer, training: null, bytes: args.checkpoint!.slice(),
        checkpointStep: ck.meta.trainer?.step ?? 0,
      };
    } else {
      const settings = settingsFromCheckpoint(ck);
      for (const key of Object.keys(given) as (keyof TrainingSettings)[]) {
        if (given[key] !== settings[key]) {
          throw new ValueError(
            `createTrainingSession: settings.${key} ${String(given[key])} does not match the checkpoint (trained with ${String(settings[key])}); ` +
              "leave it out to resume with the checkpoint's settings",
          );
        }
      }
      const data = prepareTrainingData(text, settings, [args.source], ck.tokenizer);
      const { model, trainer } = resumeTraining(settings, data, ck, threadsFor(args.threads, settings));
      this.opened = { settings, model, tokenizer: ck.tokenizer, training: { trainer, data }, bytes: null, checkpointStep: 0 };
    }
    return this.info(this.opened);
  }

  private info(o: Opened): SessionInfo {
    const t = o.training;
    return {
      settings: { ...o.settings },
      vocabSize: o.tokenizer.size,
      parameterCount: o.model.weightCount,
      step: t?.trainer.step ?? o.checkpointStep,
      canTrain: t !== null,
      trainTokens: t?.data.split.train.length ?? 0,
      valTokens: t?.data.split.val.length ?? 0,
      stepsPerEpoch: t?.data.train.windowsPerEpoch ?? 0,
      threads: t?.trainer.threads ?? 1,
    };
  }

  async train(o: Opened, args: RunArgs): Promise<RunResult> {
    if (o.training === null) throw new ValueError('TrainingSession.train: this session was opened from a checkpoint without text; open it with the text to train on');
    if (this.run !== null) throw new ValueError('TrainingSession.train: a run is already going; await it, or stop() it first');
    const controller = new AbortController();
    const done = o.training.trainer.run({
      ...args,
      signal: controller.signal,
      onProgress: (progress) => this.emit('progress', progress),
      pauseGate: () => this.waitIfPaused(),
    });
    this.run = { controller, done };
    try {
      return await done;
    } finally {
      this.run = null;
      this.betweenSteps.splice(0).forEach((task) => task());
      this.releaseGate();
    }
  }

  /** The run's pauseGate: undefined to go on, or the promise to wait on while paused. */
  private waitIfPaused(): Promise<void> | undefined {
    this.betweenSteps.splice(0).forEach((task) => task());
    if (this.gate === null) return undefined;
    this.atGate = true;
    this.pauseAcks.splice(0).forEach((ack) => ack());
    return this.gate.wait;
  }

  /** Pauses the run after its current step; resolves once it is paused. Outside a run it does nothing. */
  async pause(o: Opened): Promise<{ step: number }> {
    const step = (): { step: number } => ({ step: o.training?.trainer.step ?? o.checkpointStep });
    if (this.run === null) return step();
    if (this.gate === null) {
      let release!: () => void;
      const wait = new Promise<void>((resolve) => (release = resolve));
      this.gate = { wait, release };
    }
    if (!this.atGate) await new Promise<void>((resolve) => this.pauseAcks.push(resolve));
    return step();
  }

  async resume(): Promise<null> {
    this.releaseGate();
    return null;
  }

  /** Ends the run after its current step (a paused run at once); resolves when it has ended. */
  async stop(): Promise<null> {
    const run = this.run;
    if (run === null) return null;
    run.controller.abort();
    this.releaseGate();
    await run.done.catch(() => undefined);
    return null;
  }

  private releaseGate(): void {
    const gate = this.gate;
    this.gate = null;
    this.atGate = false;
    // A pause() still waiting when the run ends (or resumes) has nothing left to wait for.
    this.pauseAcks.splice(0).forEach((ack) => ack());
    gate?.release();
  }

  /** The checkpoint of a whole step: during a run (data-parallel steps wait for replicas), taken at the next step boundary. */
  async checkpoint(o: Opened, dtype: QuantDtype | null): Promise<Uint8Array> {
    if (dtype !== null) {
      const own = o.model.quantization;
      if (own !== null && own !== dtype) throw new ValueError(`TrainingSession.checkpoint: this session's model is ${own}; it cannot be saved as ${dtype} (quantize the float32 model)`);
      if (own === null) return this.whenWhole(() => quantizedCheckpoint(o, dtype));
    }
    if (o.training === null) return o.bytes!.slice();
    const { trainer, data } = o.training;
    return this.whenWhole(() => encodeCheckpoint(o.model, o.tokenizer, trainer, checkpointExtra(o.settings, data.record)));
  }

  /** `encode()` of a whole step: now between runs or at a gate, else at the run's next step boundary. */
  private whenWhole(encode: () => Uint8Array): Promise<Uint8Array> | Uint8Array {
    if (this.run === null || this.atGate) return encode();
    return new Promise((resolve, reject) => {
      this.betweenSteps.push(() => {
        try {
          resolve(encode());
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  async generate(o: Opened, context: HandlerContext, args: Args<SessionMethods, 'generate'>): Promise<null> {
    const generation = new Generation(Number.isInteger(args.readAhead) && args.readAhead > 0 ? args.readAhead : READ_AHEAD);
    const { id } = context;
    this.generations.set(id, generation);
    const model = snapshot(o.model);
    try {
      for await (const piece of generateText(model, o.tokenizer, args.prime, { ...args.options, signal: generation.signal })) {
        context.chunk(piece);
        await generation.sent();
      }
      return null;
    } finally {
      if (model !== o.model) model.dispose();
      this.generations.delete(id);
    }
  }

  /** Generation `target`'s reader has read `count` pieces (a generation that has ended: nothing). */
  read(target: number, count: number): null {
    return this.generations.get(target)?.read(count) ?? null;
  }

  /** Ends generation `target` (one that has ended: nothing). */
  cancel(target: number): null {
    return this.generations.get(target)?.cancel() ?? null;
  }

  async evaluate(o: Opened, args: EvaluateArgs): Promise<ScoreResult> {
    const text = typeof args.text === 'string' ? checkTrainingText(args.text) : decodeTrainingText(args.text);
    let ids = o.tokenizer.encode(text);
    if (args.maxTokens !== undefined) {
      if (!Number.isInteger(args.maxTokens) || args.maxTokens < 2) throw new ValueError(`TrainingSession.evaluate: maxTokens must be an integer >= 2, got ${args.maxTokens}`);
      ids = ids.subarray(0, args.maxTokens);
    }
    if (ids.length < 2) throw new ValueError(`TrainingSession.evaluate: the text has ${ids.length} token(s); need at least 2 to evaluate`);
    return scoreTokens(o.model, ids, args.batchSize ?? o.settings.batchSize, args.seqLen ?? o.settings.seqLen);
  }
}

/**
 * A generation's flow control: after each piece sent it waits while `readAhead` pieces are unread
 * (the reader reports with `read`), so a reader that stalls holds the worker, and nothing piles
 * up. A cancel ends it, waiting or not.
 */
class Generation {
  private readonly controller = new AbortController();
  private sentCount = 0;
  private readCount = 0;
  private wake: (() => void) | null = null;

  constructor(private readonly readAhead: number) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** One more piece sent: resolves when the reader is less than readAhead behind, or on cancel. */
  sent(): Promise<void> | void {
    this.sentCount++;
    if (this.sentCount - this.readCount < this.readAhead || this.controller.signal.aborted) return;
    return new Promise((resolve) => (this.wake = resolve));
  }

  read(count: number): null {
    this.readCount = Math.max(this.readCount, count);
    if (this.sentCount - this.readCount < this.readAhead) this.release();
    return null;
  }

  cancel(): null {
    this.controller.abort();
    this.release();
    return null;
  }

  private release(): void {
    this.wake?.();
    this.wake = null;
  }
}

/** The session's model quantized to `dtype` as checkpoint bytes (the model's settings and text record kept in `extra`). */
function quantizedCheckpoint(o: Opened, dtype: QuantDtype): Uint8Array {
  const q = quantize(o.model, { dtype });
  try {
    const extra = o.training !== null ? checkpointExtra(o.settings, o.training.data.record) : (decodeCheckpoint(o.bytes!).meta.extra ?? {});
    return encodeCheckpoint(q, o.tokenizer, null, extra);
  } finally {
    q.dispose();
  }
}

/** The threads asked for, or the default; more than the batch's lanes is a ValueError. */
function threadsFor(threads: number | null, s: TrainingSettings): number {
  if (threads === null) return defaultThreads(s.batchSize);
  if (!Number.isInteger(threads) || threads < 1 || threads > s.batchSize) {
    throw new ValueError(`createTrainingSession: threads must be an integer from 1 to the batch size ${s.batchSize} (each thread needs a lane), got ${threads}`);
  }
  return threads;
}

/** The settings the caller gave, checked (keys and ranges), without the defaults filled in. */
function checkGivenSettings(given: Partial<TrainingSettings>): Partial<TrainingSettings> {
  checkTrainingSettings(given, 'createTrainingSession: settings');
  const out: Partial<TrainingSettings> = {};
  for (const k of SETTING_NAMES) if (given[k] !== undefined) (out as Record<string, unknown>)[k] = given[k];
  return out;
}

/** A weights-only (or foreign) checkpoint's settings: its model's, the defaults for the rest. */
function checkpointSettings(ck: DecodedCheckpoint): TrainingSettings {
  // A quantized checkpoint keeps its run's settings though it cannot resume.
  if (ck.meta.quantization !== undefined) return storedSettings(ck);
  try {
    return settingsFromCheckpoint(ck);
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    return withCheckpointModel(ck, DEFAULT_TRAINING_SETTINGS);
  }
}

/**
 * A copy of `model` with its current weights, for generation that must not see later training
 * steps. Its initialization, loaded over at once, is drawn from a generator of its own, so taking a
 * snapshot changes nothing a later step or checkpoint depends on.
 */
function snapshot(model: LanguageModel): LanguageModel {
  // A quantized model never trains: it is its own snapshot (its owner must not dispose it, see generate).
  if (model.quantization !== null) return model;
  const copy = new LanguageModel(model.config, { generator: new Generator(0) });
  try {
    tidy(() => copy.loadStateDict(model.stateDict()));
  } catch (e) {
    copy.dispose();
    throw e;
  }
  return copy;
}
