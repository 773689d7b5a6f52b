using System.CommandLine;
using Aha.Training;

namespace Aha.Cli.Commands;

/// <summary>The trainer options `aha pretrain` and `aha sft` share, declared once; explicit values override a resumed run's.</summary>
sealed class TrainerCliOptions
{
    readonly Option<int> _steps, _batchSize, _seqLen, _gradAccum, _warmup, _evalEvery, _saveEvery, _keepLast, _logEvery, _maxBadSteps, _evalBatches;
    readonly Option<double> _lr, _weightDecay, _gradClip, _mtpWeight, _balanceWeight, _biasGamma;
    readonly Option<long> _seed;
    readonly Option<bool> _tensorboard;

    public TrainerCliOptions(LanguageModelTrainerOptions defaults)
    {
        _steps = Int("--steps", "Optimizer steps in the whole run.", defaults.Steps);
        _batchSize = Int("--batch-size", "Rows per micro-batch.", defaults.BatchSize);
        _seqLen = Int("--seq-len", "Tokens per row.", defaults.SequenceLength);
        _gradAccum = Int("--grad-accum", "Micro-batches per optimizer step.", defaults.GradAccum);
        _warmup = Int("--warmup", "Linear warmup steps before the cosine decay.", defaults.WarmupSteps);
        _evalEvery = Int("--eval-every", "Validation loss every N steps (0 = off).", defaults.EvalEvery);
        _saveEvery = Int("--save-every", "Checkpoint every N steps (0 = only at the end and on Ctrl-C).", defaults.SaveEvery);
        _keepLast = Int("--keep-last", "Step checkpoints to keep (0 = all).", defaults.KeepLast);
        _logEvery = Int("--log-every", "One progress line every N steps.", defaults.LogEvery);
        _maxBadSteps = Int("--max-bad-steps", "Non-finite steps in a row before the run aborts.", defaults.MaxBadSteps);
        _evalBatches = Int("--eval-batches", "Validation micro-batches.", 4);
        _lr = new Option<double>("--lr") { Description = "Peak learning rate.", DefaultValueFactory = _ => defaults.LearningRate };
        _weightDecay = new Option<double>("--weight-decay") { Description = "AdamW weight decay on matrices.", DefaultValueFactory = _ => defaults.WeightDecay };
        _gradClip = new Option<double>("--grad-clip") { Description = "Gradient-norm clip (0 = off).", DefaultValueFactory = _ => defaults.GradClip };
        _mtpWeight = new Option<double>("--mtp-weight") { Description = "λ, weight of the multi-token-prediction loss (models with MTP; 0 = off).", DefaultValueFactory = _ => defaults.MtpWeight };
        _balanceWeight = new Option<double>("--balance-weight") { Description = "α, weight of the sequence-wise expert balance loss (MoE models; 0 = off).", DefaultValueFactory = _ => defaults.BalanceWeight };
        _biasGamma = new Option<double>("--bias-gamma") { Description = "γ, router-bias step of auxiliary-loss-free balancing after each step (MoE models; 0 = off).", DefaultValueFactory = _ => defaults.BiasGamma };
        _seed = new Option<long>("--seed") { Description = "Seed of initialisation and data order.", DefaultValueFactory = _ => defaults.Seed };
        _tensorboard = new Option<bool>("--tensorboard") { Description = "Also write TensorBoard event files to OUT/tensorboard." };
    }

    static Option<int> Int(string name, string description, int value) =>
        new(name) { Description = description, DefaultValueFactory = _ => value };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _steps, _batchSize, _seqLen, _gradAccum, _lr, _warmup, _weightDecay, _gradClip, _evalEvery,
                     _evalBatches, _saveEvery, _keepLast, _logEvery, _maxBadSteps, _seed, _tensorboard, _mtpWeight, _balanceWeight, _biasGamma })
            command.Options.Add(option);
    }

    public int EvalBatches(ParseResult result) => result.GetValue(_evalBatches) is > 0 and var n ? n
        : throw new ArgumentException($"--eval-batches {result.GetValue(_evalBatches)}: must be positive.");

    /// <summary>
    /// <paramref name="baseline"/> (the defaults, or a resumed run's saved options) with every option the user typed.
    /// On resume, what fixes the data stream (batch, length, accumulation, seed) must not change, or the resume would not be exact.
    /// </summary>
    public LanguageModelTrainerOptions Read(ParseResult r, LanguageModelTrainerOptions baseline, bool resuming)
    {
        T Pick<T>(Option<T> option, T saved) => r.GetResult(option) is { Implicit: false } ? r.GetValue(option)! : saved;
        var options = baseline with
        {
            Steps = Pick(_steps, baseline.Steps),
            BatchSize = Pick(_batchSize, baseline.BatchSize),
            SequenceLength = Pick(_seqLen, baseline.SequenceLength),
            GradAccum = Pick(_gradAccum, baseline.GradAccum),
            LearningRate = Pick(_lr, baseline.LearningRate),
            WarmupSteps = Pick(_warmup, baseline.WarmupSteps),
            WeightDecay = Pick(_weightDecay, baseline.WeightDecay),
            GradClip = Pick(_gradClip, baseline.GradClip),
            EvalEvery = Pick(_evalEvery, baseline.EvalEvery),
            SaveEvery = Pick(_saveEvery, baseline.SaveEvery),
            KeepLast = Pick(_keepLast, baseline.KeepLast),
            LogEvery = Pick(_logEvery, baseline.LogEvery),
            MaxBadSteps = Pick(_maxBadSteps, baseline.MaxBadSteps),
            Seed = Pick(_seed, baseline.Seed),
            TensorBoard = Pick(_tensorboard, baseline.TensorBoard),
            MtpWeight = Pick(_mtpWeight, baseline.MtpWeight),
            BalanceWeight = Pick(_balanceWeight, baseline.BalanceWeight),
            BiasGamma = Pick(_biasGamma, baseline.BiasGamma),
        };
        if (resuming)
            foreach (var (name, was, now) in new[]
                     {
                         ("--batch-size", (long)baseline.BatchSize, (long)options.BatchSize), ("--seq-len", baseline.SequenceLength, options.SequenceLength),
                         ("--grad-accum", baseline.GradAccum, options.GradAccum), ("--seed", baseline.Seed, options.Seed),
                     })
                if (was != now)
                    throw new ArgumentException($"{name} {now} differs from the resumed run's {was}; an exact resume needs the same value. Drop the option, or start a new run with another --out.");
        return options.Validate();
    }
}
