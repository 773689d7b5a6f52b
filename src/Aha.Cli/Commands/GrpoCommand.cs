using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Tasks;
using Aha.Tasks.Rewards;
using Aha.Training;
using TorchSharp;

namespace Aha.Cli.Commands;

static class GrpoCommand
{
    static readonly GrpoOptions Defaults = new();

    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "The base model: a run or checkpoint folder (e.g. from aha pretrain). Also the KL reference." };
        var output = new Option<string>("--out") { Description = "Run folder: checkpoints, metrics.jsonl, summary.json.", DefaultValueFactory = _ => "runs/grpo" };
        var task = new Option<string>("--task") { Description = $"Task: {string.Join(", ", TaskRegistry.Names)}.", DefaultValueFactory = _ => "addition" };
        var template = new Option<string>("--template") { Description = "Prompt template: short (R1-Zero without its system text), r1zero or chat.", DefaultValueFactory = _ => "short" };
        var steps = new Option<int>("--steps") { Description = "GRPO steps.", DefaultValueFactory = _ => Defaults.Steps };
        var prompts = new Option<int>("--prompts") { Description = "P: prompts per step (R1-Zero: 32).", DefaultValueFactory = _ => Defaults.PromptsPerStep };
        var group = new Option<int>("--group-size") { Description = "G: samples per prompt (R1-Zero: 16).", DefaultValueFactory = _ => Defaults.GroupSize };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Longest completion; longer ones are truncated.", DefaultValueFactory = _ => Defaults.MaxCompletionTokens };
        var temperature = new Option<double>("--temperature") { Description = "Rollout temperature (R1-Zero: 1).", DefaultValueFactory = _ => Defaults.Temperature };
        var lr = new Option<double>("--lr") { Description = "Learning rate (R1-Zero: 3e-6 for a 671B model; tiny models need more).", DefaultValueFactory = _ => Defaults.LearningRate };
        var beta = new Option<float>("--beta") { Description = "KL coefficient β, k3 estimator (R1-Zero 0.001, DeepSeekMath 0.04; 0 = no reference model).", DefaultValueFactory = _ => Defaults.Beta };
        var epsLow = new Option<float>("--eps-low") { Description = "Lower clip ε.", DefaultValueFactory = _ => Defaults.EpsLow };
        var epsHigh = new Option<float>("--eps-high") { Description = "Upper clip ε (DAPO clip-higher: 0.28).", DefaultValueFactory = _ => Defaults.EpsHigh };
        var refReset = new Option<int>("--ref-reset") { Description = "Reset the reference to the policy every N steps (R1-Zero: 400; 0 = never).", DefaultValueFactory = _ => Defaults.ReferenceResetEvery };
        var updates = new Option<int>("--updates") { Description = "μ: policy updates per batch of rollouts.", DefaultValueFactory = _ => Defaults.UpdatesPerBatch };
        var minibatches = new Option<int>("--minibatches") { Description = "Optimizer steps per update, over equal slices of the rollouts.", DefaultValueFactory = _ => Defaults.MiniBatches };
        var loss = new Option<string>("--loss") { Description = "Loss aggregation: sequence (GRPO), token (DAPO) or constant (Dr. GRPO).", DefaultValueFactory = _ => "sequence" };
        var noStd = new Option<bool>("--no-std") { Description = "Dr. GRPO: advantages r − mean without dividing by the group's std." };
        var dynamic = new Option<bool>("--dynamic-sampling") { Description = "DAPO: drop groups whose rewards are all equal and sample more prompts." };
        var maskTruncated = new Option<bool>("--mask-truncated") { Description = "DAPO overlong filtering: truncated completions get no loss." };
        var overlong = new Option<int>("--overlong-cache") { Description = "DAPO soft overlong penalty: 0 up to max-tokens − N, then linear to −1 (0 = off).", DefaultValueFactory = _ => 0 };
        var seed = new Option<long>("--seed") { Description = "Seed of problems and samples (sample g of prompt p at step s: seed + s·1000003 + p·1009 + g).", DefaultValueFactory = _ => Defaults.Seed };
        var saveEvery = new Option<int>("--save-every") { Description = "Checkpoint every N steps (and at the end and on Ctrl-C).", DefaultValueFactory = _ => Defaults.SaveEvery };
        var keepLast = new Option<int>("--keep-last") { Description = "Step checkpoints to keep (0 = all).", DefaultValueFactory = _ => Defaults.KeepLast };
        var weightDecay = new Option<double>("--weight-decay") { Description = "AdamW weight decay on matrices (norms and biases never decay).", DefaultValueFactory = _ => Defaults.WeightDecay };
        var gradClip = new Option<double>("--grad-clip") { Description = "Gradient-norm clip (0 = off).", DefaultValueFactory = _ => Defaults.MaxGradNorm };
        var tensorboard = new Option<bool>("--tensorboard") { Description = "Also write TensorBoard event files." };
        var run = new RunOptions();
        var lora = new LoraCliOptions();
        var taskOptions = new TaskOptions();
        var command = new Command("grpo", "Reinforce a model with GRPO and rule-checked rewards (accuracy + format), R1-Zero style.")
        {
            model, output, task, template, steps, prompts, group, maxTokens, temperature, lr, beta, epsLow, epsHigh, refReset,
            updates, minibatches, loss, noStd, dynamic, maskTruncated, overlong, seed, saveEvery, keepLast, weightDecay, gradClip, tensorboard,
        };
        run.AddTo(command);
        lora.AddTo(command);
        foreach (var option in command.Options.ToList().Where(o => o.Name == "--skip-bad-rows")) command.Options.Remove(option);
        taskOptions.AddTo(command);
        command.SetAction(r => Cli.Run(() =>
        {
            var clock = Stopwatch.StartNew();
            var device = run.Initialize(r);
            string outDir = r.GetValue(output)!;
            var adapterResume = LoraCliOptions.TryResume(outDir, r.GetValue(run.Resume));
            var resume = adapterResume is null ? TrainingSession.PrepareRunFolder(outDir, r.GetValue(run.Resume), r.GetValue(run.Overwrite)) : null;
            var saved = resume?.State ?? adapterResume?.State;
            r = RunSpec.Resolve(r, saved); // untyped options from the saved run; a typed one that differs is refused
            var options = new GrpoOptions
            {
                Steps = r.GetValue(steps), PromptsPerStep = r.GetValue(prompts), GroupSize = r.GetValue(group),
                MaxCompletionTokens = r.GetValue(maxTokens), Temperature = r.GetValue(temperature), LearningRate = r.GetValue(lr),
                Beta = r.GetValue(beta), EpsLow = r.GetValue(epsLow), EpsHigh = r.GetValue(epsHigh), ReferenceResetEvery = r.GetValue(refReset),
                UpdatesPerBatch = r.GetValue(updates), MiniBatches = r.GetValue(minibatches),
                LossAggregation = ParseLoss(r.GetValue(loss)!), ScaleRewards = !r.GetValue(noStd), DynamicSampling = r.GetValue(dynamic),
                MaskTruncated = r.GetValue(maskTruncated), Seed = r.GetValue(seed), SaveEvery = r.GetValue(saveEvery), KeepLast = r.GetValue(keepLast),
                WeightDecay = r.GetValue(weightDecay), MaxGradNorm = r.GetValue(gradClip), PromptStyle = Prompts.ParseStyle(r.GetValue(template)!),
            };
            if (saved is not null && saved.Payload["spec"] is null) // a run saved before run specs: its options, and only --steps may change
            {
                var was = saved.GetOptions<GrpoOptions>();
                options = was with { Steps = r.GetResult(steps) is { Implicit: false } ? options.Steps : was.Steps };
            }
            options.Validate();
            var loraConfig = lora.Read(r); // before any loading: a bad --lora-targets fails at once
            string? savedBase = saved?.Get<string>("base_model");
            string basePath = r.GetValue(model) ?? savedBase
                ?? throw new ArgumentException("--model is required: the base model to reinforce (a run or checkpoint folder, e.g. runs/pretrain).");
            if (savedBase is not null && Path.GetFullPath(basePath) != savedBase)
                throw new ArgumentException($"--model {basePath} is not the resumed run's base model {savedBase} (its starting point and KL reference). Drop --model, or start a new run with another --out.");
            string taskName = saved?.Get<string>("task") ?? r.GetValue(task)!;
            var chosen = TaskRegistry.Create(taskName, taskOptions.Read(r));
            var (policy, baseCheckpoint) = Cli.LoadModel(basePath, device, run.ComputeDtype(r));
            RunSpec.CheckBaseUnchanged(saved, baseCheckpoint.Directory);
            if (adapterResume is not null && loraConfig is null) throw new ArgumentException($"{adapterResume.Directory} is a LoRA checkpoint; resume it with the run's --lora-* options.");
            if (loraConfig is not null)
            {
                torch.manual_seed(options.Seed); // the adapters' A matrices: the same run draws the same ones
                policy.AttachLora(loraConfig);
                if (options.Beta > 0 && options.ReferenceResetEvery > 0 && options.ReferenceResetEvery < options.Steps)
                    Console.Error.WriteLine($"note: with LoRA the KL reference is the base (adapters off) for the whole run; --ref-reset {options.ReferenceResetEvery} does not apply.");
            }
            if (options.MaxCompletionTokens + 64 > policy.Config.MaxPositionEmbeddings)
                Console.Error.WriteLine($"warning: --max-tokens {options.MaxCompletionTokens} plus the prompt may exceed the model's context ({policy.Config.MaxPositionEmbeddings}).");

            var terms = new List<(IRewardFunction, float)> { (new AccuracyReward(chosen), 1f), (new FormatReward(), 1f) };
            int cache = saved?.Get<int>("overlong_cache") ?? r.GetValue(overlong);
            if (cache > 0) terms.Add((new OverlongPenalty(options.MaxCompletionTokens, cache), 1f));
            var rewards = new RewardSet(terms);
            var rewardSpec = new JsonObject(rewards.Terms.Select(t => KeyValuePair.Create(t.Function.Name, (JsonNode?)t.Weight)));
            if (saved?.Payload["rewards"] is JsonObject savedRewards && !JsonNode.DeepEquals(savedRewards, rewardSpec))
                throw new ArgumentException($"the rewards built now ({rewardSpec.ToJsonString()}) differ from the resumed run's ({savedRewards.ToJsonString()}); resume with the Aha version that started the run, or start a new run.");

            Console.Error.WriteLine($"base {baseCheckpoint.Directory}; task {chosen.Name}; {options.PromptsPerStep}×{options.GroupSize} rollouts/step; rewards {string.Join(" + ", rewards.Terms.Select(t => t.Function.Name))}");
            var template0 = new TrainingState { Step = 0, Trainer = "grpo" }
                .With("base_model", Path.GetFullPath(basePath)).With("task", taskName).With("overlong_cache", cache)
                .With("base_model_sha256", saved?.Get<string>("base_model_sha256") ?? RunSpec.WeightsHash(baseCheckpoint.Directory))
                .With("rewards", rewardSpec) // built from the spec's task and --overlong-cache; checked on resume
                .With("spec", RunSpec.Capture(r));
            var (result, history) = TrainingSession.Run(saved?.Step ?? 0, options.Steps, (log, progress, cancel) =>
            {
                using var trainer = new GrpoTrainer(policy, baseCheckpoint.Tokenizer, chosen, rewards, options)
                {
                    RunDirectory = outDir, StateTemplate = template0, TensorBoard = r.GetValue(tensorboard), Log = log, Inject = NonFiniteInjection.FromEnvironment(),
                    OnStep = progress is null ? null : s => progress(s.Step + 1),
                };
                return adapterResume is null ? trainer.Run(resume, cancel) : trainer.Run(adapterResume, cancel);
            });
            var last = history.LastOrDefault();
            var extra = new JsonObject
            {
                ["task"] = taskName,
                ["base_model"] = Path.GetFullPath(basePath),
                ["reward"] = last?["reward"],
                ["accuracy"] = last?["accuracy"],
                ["completion_tokens"] = last?["completion_tokens"],
            };
            Console.WriteLine(TrainingSession.WriteSummary(outDir, "grpo", result, policy.parameters().Sum(p => p.numel()), clock, extra));
            return TrainingSession.ExitCode(result);
        }));
        return command;
    }

    static LossAggregation ParseLoss(string name) => name.ToLowerInvariant() switch
    {
        "sequence" => LossAggregation.Sequence,
        "token" => LossAggregation.Token,
        "constant" => LossAggregation.Constant,
        _ => throw new ArgumentException($"--loss '{name}': use sequence (GRPO), token (DAPO) or constant (Dr. GRPO)."),
    };
}
