using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Data;
using Aha.Model;
using Aha.Preferences;
using Aha.Reports;
using Aha.Tasks;
using Aha.Tasks.Rewards;
using Aha.Training;
using TorchSharp;

namespace Aha.Cli.Commands;

/// <summary>`aha rm`: train a Bradley–Terry reward model on preference pairs; `aha rm score`: score completions with one.</summary>
static class RmCommand
{
    static readonly RewardOptions Defaults = new();

    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "The causal LM the reward model starts from (its trunk; the score head starts N(0, 0.02))." };
        var data = new Option<string?>("--data") { Description = "Preference pairs, JSONL {\"prompt\",\"chosen\",\"rejected\"} (TRL); optional chosen_correct/rejected_correct per row." };
        var evalData = new Option<string?>("--eval-data") { Description = "Held-out pairs; default: --eval-fraction of --data, split by prompt." };
        var evalFraction = new Option<double>("--eval-fraction") { Description = "Share of prompts held out when --eval-data is not given.", DefaultValueFactory = _ => 0.1 };
        var output = new Option<string>("--out") { Description = "Run folder: checkpoints (Hugging Face *ForSequenceClassification), metrics.jsonl, summary.json, plots.", DefaultValueFactory = _ => "runs/rm" };
        var steps = new Option<int>("--steps") { Description = "Optimizer steps.", DefaultValueFactory = _ => Defaults.Steps };
        var batch = new Option<int>("--batch-size") { Description = "Pairs per step.", DefaultValueFactory = _ => Defaults.BatchSize };
        var maxLength = new Option<int>("--max-length") { Description = "Longest prompt + completion in tokens (the prompt's start is cut first).", DefaultValueFactory = _ => Defaults.MaxLength };
        var lr = new Option<double>("--lr") { Description = "Learning rate.", DefaultValueFactory = _ => Defaults.LearningRate };
        var weightDecay = new Option<double>("--weight-decay") { Description = "AdamW weight decay on matrices.", DefaultValueFactory = _ => Defaults.WeightDecay };
        var gradClip = new Option<double>("--grad-clip") { Description = "Gradient-norm clip (0 = off).", DefaultValueFactory = _ => Defaults.MaxGradNorm };
        var margin = new Option<bool>("--margin") { Description = "Subtract each pair's margin (when the data gives one) inside the sigmoid." };
        var evalEvery = new Option<int>("--eval-every") { Description = "Held-out metrics every N steps (and at the end).", DefaultValueFactory = _ => Defaults.EvalEvery };
        var seed = new Option<long>("--seed") { Description = "Seed of the head's initialisation and the pair order.", DefaultValueFactory = _ => Defaults.Seed };
        var saveEvery = new Option<int>("--save-every") { Description = "Checkpoint every N steps (and at the end and on Ctrl-C).", DefaultValueFactory = _ => Defaults.SaveEvery };
        var keepLast = new Option<int>("--keep-last") { Description = "Step checkpoints to keep (0 = all).", DefaultValueFactory = _ => Defaults.KeepLast };
        var tensorboard = new Option<bool>("--tensorboard") { Description = "Also write TensorBoard event files." };
        var run = new RunOptions();
        var command = new Command("rm", "Train a reward model (Bradley–Terry) on preference pairs; saved as a Hugging Face *ForSequenceClassification folder.")
        {
            model, data, evalData, evalFraction, output, steps, batch, maxLength, lr, weightDecay, gradClip, margin, evalEvery, seed, saveEvery, keepLast, tensorboard,
        };
        run.AddTo(command);
        command.Subcommands.Add(ScoreCommand());
        command.SetAction(r => Cli.Run(() =>
        {
            var clock = Stopwatch.StartNew();
            var device = run.Initialize(r);
            string outDir = r.GetValue(output)!;
            var resume = TrainingSession.PrepareRunFolder(outDir, r.GetValue(run.Resume), r.GetValue(run.Overwrite));
            var saved = resume?.State;
            r = RunSpec.Resolve(r, saved);
            var options = new RewardOptions
            {
                Steps = r.GetValue(steps), BatchSize = r.GetValue(batch), MaxLength = r.GetValue(maxLength), LearningRate = r.GetValue(lr),
                WeightDecay = r.GetValue(weightDecay), MaxGradNorm = r.GetValue(gradClip), UseMargin = r.GetValue(margin), EvalEvery = r.GetValue(evalEvery),
                Seed = r.GetValue(seed), SaveEvery = r.GetValue(saveEvery), KeepLast = r.GetValue(keepLast),
            }.Validate();
            string basePath = r.GetValue(model) ?? throw new ArgumentException("--model is required: the causal LM the reward model starts from (a run or checkpoint folder).");
            string dataPath = r.GetValue(data) ?? throw new ArgumentException("--data is required: preference pairs as JSONL {\"prompt\",\"chosen\",\"rejected\"}.");
            var bad = r.GetValue(run.SkipBadRows) ? new BadRowReport() : null;

            var (lm, baseCheckpoint) = Cli.LoadModel(basePath, device, run.ComputeDtype(r));
            RunSpec.CheckBaseUnchanged(saved, baseCheckpoint.Directory);
            var tokenizer = baseCheckpoint.Tokenizer;
            torch.manual_seed(options.Seed); // the head's N(0, 0.02) draw: the same run starts from the same head
            var rm = lm.Config.SequenceClassification ? lm : RewardModels.FromCausalLm(lm, tokenizer.PadId);
            if (!ReferenceEquals(rm, lm)) lm.Dispose();

            var pairs = Load(dataPath, tokenizer, options.MaxLength, bad);
            IReadOnlyList<RewardPair> train, heldOut;
            if (r.GetValue(evalData) is { } evalPath)
                (train, heldOut) = (pairs.Select(p => p.Pair).ToList(), Load(evalPath, tokenizer, options.MaxLength, bad).Select(p => p.Pair).ToList());
            else
            {
                double fraction = r.GetValue(evalFraction);
                train = pairs.Where(p => !TrainValidationSplit.IsValidation(p.Prompt, fraction, options.Seed)).Select(p => p.Pair).ToList();
                heldOut = pairs.Where(p => TrainValidationSplit.IsValidation(p.Prompt, fraction, options.Seed)).Select(p => p.Pair).ToList();
            }
            if (bad is { Count: > 0 }) Cli.ReportSkipped(bad.Count, bad.FirstMessages);
            Console.Error.WriteLine($"base {baseCheckpoint.Directory}; {train.Count} training pairs, {heldOut.Count} held out " +
                $"({heldOut.Count(p => p.Decisive)} with exactly one correct completion)");

            var template = new TrainingState { Step = 0, Trainer = "rm" }
                .With("base_model", Path.GetFullPath(basePath)).With("data", Path.GetFullPath(dataPath))
                .With("base_model_sha256", saved?.Get<string>("base_model_sha256") ?? RunSpec.WeightsHash(baseCheckpoint.Directory))
                .With("spec", RunSpec.Capture(r));
            var evaluations = new List<(long Step, RewardEvaluation Eval)>();
            var (result, history) = TrainingSession.Run(saved?.Step ?? 0, options.Steps, (log, progress, cancel) =>
            {
                using var trainer = new RewardTrainer(rm, tokenizer, train, heldOut, options)
                {
                    RunDirectory = outDir, StateTemplate = template, TensorBoard = r.GetValue(tensorboard), Inject = NonFiniteInjection.FromEnvironment(),
                    Log = log, OnStep = progress is null ? null : s => progress(s.Step),
                };
                var outcome = trainer.Run(resume, cancel);
                evaluations = trainer.Evaluations;
                return outcome;
            });
            var last = evaluations.LastOrDefault().Eval;
            if (evaluations.Count > 0)
                RlhfPlots.Lines(Path.Combine(outDir, "rm_eval.png"), "Reward model on held-out pairs", "rm step", "share of pairs",
                    evaluations.Select(e => (e.Step, e.Eval.Scalars())).ToList(),
                    [("eval_accuracy", "pair accuracy (label)"), ("eval_verifier_agreement", "agreement with the verifier")],
                    [("eval_margin", "mean margin r(chosen) − r(rejected) (right axis)")], "margin");
            var extra = new JsonObject
            {
                ["base_model"] = Path.GetFullPath(basePath),
                ["train_pairs"] = train.Count,
                ["eval_pairs"] = heldOut.Count,
                ["eval_accuracy"] = Round(last?.Accuracy),
                ["eval_margin"] = Round(last?.MeanMargin),
                ["eval_verifier_agreement"] = Round(last?.VerifierAgreement),
                ["eval_verifier_pairs"] = last?.VerifierPairs,
                ["eval_chosen_mean"] = Round(last?.ChosenMean), ["eval_chosen_std"] = Round(last?.ChosenStd),
                ["eval_rejected_mean"] = Round(last?.RejectedMean), ["eval_rejected_std"] = Round(last?.RejectedStd),
                ["eval_correct_mean"] = Round(last?.CorrectMean), ["eval_wrong_mean"] = Round(last?.WrongMean),
                ["train_accuracy"] = Round(history.LastOrDefault()?.Scalars["accuracy"]),
            };
            Console.WriteLine(TrainingSession.WriteSummary(outDir, "rm", result, rm.parameters().Sum(p => p.numel()), clock, extra));
            return TrainingSession.ExitCode(result);
        }));
        return command;
    }

    static JsonNode? Round(double? value) => value is { } v && double.IsFinite(v) ? Math.Round(v, 4) : null;

    /// <summary>Pairs through <see cref="PreferenceData.Load"/>, with the verifier's verdicts when the rows carry chosen_correct/rejected_correct.</summary>
    static List<(string Prompt, RewardPair Pair)> Load(string path, Aha.Tokenizer.ITokenizer tokenizer, int maxLength, BadRowReport? bad) =>
        PreferenceData.Load(path, new PreferenceDataOptions(bad))
            .Select(p => (p.PromptText ?? string.Join("\n", p.PromptMessages!.Select(m => m.Content)), RewardPair.From(tokenizer, p, maxLength)))
            .ToList();

    static Command ScoreCommand()
    {
        var model = new Option<string>("--model") { Description = "The reward model: a run or checkpoint folder from aha rm.", Required = true };
        var input = new Option<string>("--in") { Description = "Completions, JSONL {\"prompt\",\"completion\"} (optional \"truncated\": no EOS is appended).", Required = true };
        var output = new Option<string?>("--out") { Description = "Write the rows with a \"score\" field here (default: stdout)." };
        var threads = RunOptions.NewThreads();
        var command = new Command("score", "Score completions with a reward model: each row gets \"score\"; one JSON summary line last.") { model, input, output, threads };
        command.SetAction(r => Cli.Run(() =>
        {
            RunOptions.InitializeTorch(r, threads);
            var (rm, checkpoint) = Cli.LoadModel(r.GetValue(model)!, torch.CPU);
            var reward = new RewardModelReward(rm, checkpoint.Tokenizer, rm.Config.MaxPositionEmbeddings);
            var rows = JsonlReader.ReadRows(r.GetValue(input)!, row => (JsonObject)JsonNode.Parse(row.GetRawText())!).Select(x => x.Value).ToList();
            string Text(JsonObject row, string field) => row[field]?.GetValueKind() == JsonValueKind.String ? row[field]!.GetValue<string>()
                : throw new InvalidDataException($"{r.GetValue(input)}: a row has no string \"{field}\"; rows need \"prompt\" and \"completion\".");
            var batch = rows.Select(row => new Completion(Text(row, "prompt"), Text(row, "completion"), new TaskItem("", Text(row, "prompt"), ""),
                0, row["truncated"]?.GetValueKind() == JsonValueKind.True)).ToList();
            var scores = reward.Score(batch);
            var lines = rows.Select((row, i) => { row["score"] = Math.Round(scores[i], 6); return row.ToJsonString(); }).ToList();
            if (r.GetValue(output) is { } path) File.WriteAllLines(path, lines);
            else foreach (var line in lines) Console.WriteLine(line);
            double mean = scores.Length == 0 ? double.NaN : scores.Average(s => (double)s);
            double std = scores.Length == 0 ? double.NaN : Math.Sqrt(scores.Average(s => (s - mean) * (s - mean)));
            Console.WriteLine(new JsonObject { ["command"] = "rm score", ["rows"] = scores.Length, ["mean"] = Round(mean), ["std"] = Round(std), ["model"] = checkpoint.Directory }.ToJsonString());
        }));
        return command;
    }
}
