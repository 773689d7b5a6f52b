using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Data;
using Aha.Eval;
using Aha.Preferences;
using Aha.Reports;
using Aha.Tasks;
using Aha.Training;
using TorchSharp;

namespace Aha.Cli.Commands;

static class DpoCommand
{
    static readonly DpoOptions Defaults = new();

    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "The starting policy: a run or checkpoint folder. Also the frozen reference." };
        var data = new Option<string?>("--data") { Description = "Preference pairs: .jsonl or .parquet in TRL (standard or conversational), HH-RLHF or UltraFeedback form (e.g. from aha prefs)." };
        var output = new Option<string>("--out") { Description = "Run folder: checkpoints, metrics.jsonl, plots, summary.json.", DefaultValueFactory = _ => "runs/dpo" };
        var format = new Option<string>("--format") { Description = "Row format: auto, standard, conversational, hh-rlhf or ultrafeedback.", DefaultValueFactory = _ => "auto" };
        var pairs = new Option<string>("--pairs") { Description = "Pairs from rows with several scored completions: best-vs-worst or all.", DefaultValueFactory = _ => "best-vs-worst" };
        var steps = new Option<int>("--steps") { Description = "Optimizer steps.", DefaultValueFactory = _ => Defaults.Steps };
        var batch = new Option<int>("--batch-size") { Description = "Pairs per step.", DefaultValueFactory = _ => Defaults.BatchSize };
        var beta = new Option<double>("--beta") { Description = "β: strength of the pull toward the reference (TRL: 0.1).", DefaultValueFactory = _ => Defaults.Beta };
        var loss = new Option<string>("--loss") { Description = "dpo (−log σ(βh)) or ipo ((h − 1/2β)²).", DefaultValueFactory = _ => "dpo" };
        var smoothing = new Option<double>("--label-smoothing") { Description = "Conservative DPO: ε, the share of labels assumed flipped (dpo loss only).", DefaultValueFactory = _ => Defaults.LabelSmoothing };
        var maxLength = new Option<int>("--max-length") { Description = "Longest prompt + completion in tokens (longer pairs lose the prompt's start first).", DefaultValueFactory = _ => Defaults.MaxLength };
        var lr = new Option<double>("--lr") { Description = "Learning rate (constant).", DefaultValueFactory = _ => Defaults.LearningRate };
        var weightDecay = new Option<double>("--weight-decay") { Description = "AdamW weight decay on matrices.", DefaultValueFactory = _ => Defaults.WeightDecay };
        var gradClip = new Option<double>("--grad-clip") { Description = "Gradient-norm clip (0 = off).", DefaultValueFactory = _ => Defaults.MaxGradNorm };
        var seed = new Option<long>("--seed") { Description = "Seed of the pair order (each pass over the pairs is shuffled anew).", DefaultValueFactory = _ => Defaults.Seed };
        var saveEvery = new Option<int>("--save-every") { Description = "Checkpoint every N steps (and at the end and on Ctrl-C).", DefaultValueFactory = _ => Defaults.SaveEvery };
        var keepLast = new Option<int>("--keep-last") { Description = "Step checkpoints to keep (0 = all).", DefaultValueFactory = _ => Defaults.KeepLast };
        var task = new Option<string>("--task") { Description = $"Task of the held-out evaluation: {string.Join(", ", TaskRegistry.Names)}, or none.", DefaultValueFactory = _ => "addition" };
        var evalEvery = new Option<int>("--eval-every") { Description = "Held-out greedy accuracy every N steps (always before the first and after the last; 0 = only those).", DefaultValueFactory = _ => Defaults.EvalEvery };
        var evalProblems = new Option<int>("--eval-problems") { Description = "Held-out problems (the first of the task's test split, as aha demo uses).", DefaultValueFactory = _ => 200 };
        var evalTokens = new Option<int>("--eval-max-tokens") { Description = "Longest held-out completion.", DefaultValueFactory = _ => 64 };
        var template = new Option<string>("--template") { Description = "Prompt template of the held-out evaluation: short, r1zero or chat.", DefaultValueFactory = _ => "short" };
        var tensorboard = new Option<bool>("--tensorboard") { Description = "Also write TensorBoard event files." };
        var run = new RunOptions();
        var lora = new LoraCliOptions();
        var command = new Command("dpo", "Direct Preference Optimization on preference pairs (DPO, IPO or conservative DPO), against the frozen starting policy.")
        {
            model, data, output, format, pairs, steps, batch, beta, loss, smoothing, maxLength, lr, weightDecay, gradClip, seed, saveEvery, keepLast,
            task, evalEvery, evalProblems, evalTokens, template, tensorboard,
        };
        run.AddTo(command);
        lora.AddTo(command);
        command.SetAction(r => Cli.Run(() =>
        {
            var clock = Stopwatch.StartNew();
            var device = run.Initialize(r);
            string outDir = r.GetValue(output)!;
            var adapterResume = LoraCliOptions.TryResume(outDir, r.GetValue(run.Resume));
            var resume = adapterResume is null ? TrainingSession.PrepareRunFolder(outDir, r.GetValue(run.Resume), r.GetValue(run.Overwrite)) : null;
            var saved = resume?.State ?? adapterResume?.State;
            r = RunSpec.Resolve(r, saved); // untyped options from the saved run; a typed one that differs is refused
            var options = new DpoOptions
            {
                Steps = r.GetValue(steps), BatchSize = r.GetValue(batch), Beta = r.GetValue(beta), Loss = ParseLoss(r.GetValue(loss)!),
                LabelSmoothing = r.GetValue(smoothing), MaxLength = r.GetValue(maxLength), LearningRate = r.GetValue(lr), WeightDecay = r.GetValue(weightDecay),
                MaxGradNorm = r.GetValue(gradClip), EvalEvery = r.GetValue(evalEvery), Seed = r.GetValue(seed), SaveEvery = r.GetValue(saveEvery), KeepLast = r.GetValue(keepLast),
            }.Validate();
            var loraConfig = lora.Read(r);
            string? savedBase = saved?.Get<string>("base_model");
            string basePath = r.GetValue(model) ?? savedBase
                ?? throw new ArgumentException("--model is required: the policy to start from (a run or checkpoint folder); it is also the frozen reference.");
            if (savedBase is not null && Path.GetFullPath(basePath) != savedBase)
                throw new ArgumentException($"--model {basePath} is not the resumed run's base model {savedBase} (its starting point and reference). Drop --model, or start a new run with another --out.");
            string dataPath = r.GetValue(data) ?? throw new ArgumentException("--data is required: the preference pairs file (e.g. from aha prefs).");

            var skipped = r.GetValue(run.SkipBadRows) ? new BadRowReport() : null;
            var rows = PreferenceData.Load(dataPath, new PreferenceDataOptions(skipped) { Format = PreferenceData.ParseFormat(r.GetValue(format)!), Pairs = PreferenceData.ParsePairing(r.GetValue(pairs)!) });
            if (skipped is { Count: > 0 }) Cli.ReportSkipped(skipped.Count, skipped.FirstMessages);
            var (policy, baseCheckpoint) = Cli.LoadModel(basePath, device, run.ComputeDtype(r));
            RunSpec.CheckBaseUnchanged(saved, baseCheckpoint.Directory);
            var tokenizer = baseCheckpoint.Tokenizer;
            var encoded = rows.Select(p => EncodedPair.Encode(tokenizer, p, options.MaxLength)).ToList();
            if (adapterResume is not null && loraConfig is null) throw new ArgumentException($"{adapterResume.Directory} is a LoRA checkpoint; resume it with the run's --lora-* options.");
            if (loraConfig is not null)
            {
                torch.manual_seed(options.Seed); // the adapters' A matrices: the same run draws the same ones
                policy.AttachLora(loraConfig);
            }
            if (options.MaxLength > policy.Config.MaxPositionEmbeddings)
                Console.Error.WriteLine($"warning: --max-length {options.MaxLength} exceeds the model's context ({policy.Config.MaxPositionEmbeddings}).");

            string taskName = r.GetValue(task)!;
            Func<IReadOnlyDictionary<string, double>>? heldOut = null;
            if (taskName != "none")
            {
                var chosen = TaskRegistry.Create(taskName, new TaskSettings());
                var problems = ModelEvaluator.Problems(chosen, r.GetValue(evalProblems));
                var evalOptions = new EvalOptions { MaxNewTokens = r.GetValue(evalTokens), BatchSize = 100, PromptStyle = Prompts.ParseStyle(r.GetValue(template)!) };
                heldOut = () =>
                {
                    var s = ModelEvaluator.Evaluate(policy, tokenizer, chosen, problems, evalOptions).Summary;
                    return new Dictionary<string, double>
                    {
                        ["accuracy"] = s.Accuracy, ["completion_tokens"] = s.MeanCompletionTokens ?? double.NaN,
                        ["truncated"] = s.TruncatedShare, ["no_answer"] = s.NoAnswerShare,
                    };
                };
            }
            Console.Error.WriteLine($"base {baseCheckpoint.Directory}; {encoded.Count} pairs from {dataPath}; {(options.Loss == DpoLossType.Ipo ? "ipo" : "dpo")} β {options.Beta}" +
                                    $"{(options.LabelSmoothing > 0 ? $" ε {options.LabelSmoothing}" : "")}; reference {(loraConfig is null ? "a frozen copy of the base" : "the base with adapters off")}");
            var template0 = new TrainingState { Step = 0, Trainer = "dpo" }
                .With("base_model", Path.GetFullPath(basePath)).With("data", Path.GetFullPath(dataPath))
                .With("base_model_sha256", saved?.Get<string>("base_model_sha256") ?? RunSpec.WeightsHash(baseCheckpoint.Directory))
                .With("spec", RunSpec.Capture(r));
            var (result, history) = TrainingSession.Run(saved?.Step ?? 0, options.Steps, (log, progress, cancel) =>
            {
                using var trainer = new DpoTrainer(policy, tokenizer, encoded, options)
                {
                    RunDirectory = outDir, StateTemplate = template0, TensorBoard = r.GetValue(tensorboard), Log = log, HeldOut = heldOut,
                    Inject = NonFiniteInjection.FromEnvironment(), OnStep = progress is null ? null : s => progress(s.Step),
                };
                return adapterResume is null ? trainer.Run(resume, cancel) : trainer.Run(adapterResume, cancel);
            });
            var plots = DpoReport.WritePlots(outDir);
            string metricsPath = Path.Combine(outDir, "metrics.jsonl");
            var evals = File.Exists(metricsPath) ? MetricsReader.Read(metricsPath, "eval") : [];
            var first = evals.FirstOrDefault(e => e.Step == 0);
            var last = evals.LastOrDefault();
            var final = history.LastOrDefault()?.Scalars;
            var extra = new JsonObject
            {
                ["base_model"] = Path.GetFullPath(basePath),
                ["data"] = Path.GetFullPath(dataPath),
                ["pairs"] = encoded.Count,
                ["loss_type"] = options.Loss == DpoLossType.Ipo ? "ipo" : "dpo",
                ["beta"] = options.Beta,
                ["label_smoothing"] = options.LabelSmoothing,
                ["task"] = taskName,
                ["heldout_accuracy_before"] = first?["accuracy"],
                ["heldout_accuracy_after"] = last is null || last.Step == 0 ? null : last["accuracy"],
                ["heldout_tokens_before"] = first?["completion_tokens"],
                ["heldout_tokens_after"] = last is null || last.Step == 0 ? null : last["completion_tokens"],
                ["rewards_accuracies"] = final?["rewards/accuracies"],
                ["rewards_margins"] = final?["rewards/margins"],
                ["plots"] = new JsonArray(plots.Select(p => (JsonNode)p).ToArray()),
            };
            Console.WriteLine(TrainingSession.WriteSummary(outDir, "dpo", result, policy.parameters().Sum(p => p.numel()), clock, extra));
            return TrainingSession.ExitCode(result);
        }));
        return command;
    }

    static DpoLossType ParseLoss(string name) => name.ToLowerInvariant() switch
    {
        "dpo" or "sigmoid" => DpoLossType.Sigmoid,
        "ipo" => DpoLossType.Ipo,
        _ => throw new ArgumentException($"--loss '{name}': use dpo (with --label-smoothing for conservative DPO) or ipo."),
    };
}
