using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Eval;
using Aha.Model;
using Aha.Reports;
using Aha.Tasks;
using Aha.Tasks.Rewards;
using Aha.Training;
using TorchSharp;

namespace Aha.Cli.Commands;

/// <summary>`aha ppo`: PPO against a reward model (or the rule rewards), logging the verifier beside the proxy.</summary>
static class PpoCommand
{
    static readonly PpoOptions Defaults = new();

    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "The policy to improve (a run or checkpoint folder); also the frozen KL reference." };
        var rewardModel = new Option<string?>("--reward-model") { Description = "Reward model folder from aha rm; without it the rewards are the task's rules (accuracy + format)." };
        var valueInit = new Option<string>("--value-init") { Description = "Value model start: rm (the reward model, as is standard) or policy (its trunk, fresh head).", DefaultValueFactory = _ => "rm" };
        var output = new Option<string>("--out") { Description = "Run folder: checkpoints, metrics.jsonl, summary.json, plots.", DefaultValueFactory = _ => "runs/ppo" };
        var task = new Option<string>("--task") { Description = $"Task: {string.Join(", ", TaskRegistry.Names)}.", DefaultValueFactory = _ => "addition" };
        var template = new Option<string>("--template") { Description = "Prompt template: short, r1zero or chat.", DefaultValueFactory = _ => "short" };
        var steps = new Option<int>("--steps") { Description = "PPO steps (each: rollouts, then epochs of updates).", DefaultValueFactory = _ => Defaults.Steps };
        var prompts = new Option<int>("--prompts") { Description = "Prompts per step.", DefaultValueFactory = _ => Defaults.PromptsPerStep };
        var samples = new Option<int>("--samples") { Description = "Completions per prompt.", DefaultValueFactory = _ => Defaults.SamplesPerPrompt };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Longest completion; longer ones are truncated (and penalised).", DefaultValueFactory = _ => Defaults.MaxCompletionTokens };
        var temperature = new Option<double>("--temperature") { Description = "Rollout temperature.", DefaultValueFactory = _ => Defaults.Temperature };
        var lr = new Option<double>("--lr") { Description = "Policy learning rate.", DefaultValueFactory = _ => Defaults.LearningRate };
        var valueLr = new Option<double>("--value-lr") { Description = "Value model learning rate.", DefaultValueFactory = _ => Defaults.ValueLearningRate };
        var klCoef = new Option<double>("--kl-coef") { Description = "β of the per-token KL penalty in the reward (start value when adaptive).", DefaultValueFactory = _ => Defaults.KlCoef };
        var targetKl = new Option<double?>("--target-kl") { Description = "Adapt β toward this mean sequence KL (Ziegler et al.); omit for a fixed β." };
        var lambda = new Option<double>("--lambda") { Description = "GAE λ.", DefaultValueFactory = _ => Defaults.Lambda };
        var gamma = new Option<double>("--gamma") { Description = "Discount γ.", DefaultValueFactory = _ => Defaults.Gamma };
        var clip = new Option<double>("--clip") { Description = "Policy ratio clip ε.", DefaultValueFactory = _ => Defaults.ClipRange };
        var valueClip = new Option<double>("--value-clip") { Description = "Value clip.", DefaultValueFactory = _ => Defaults.ValueClipRange };
        var vfCoef = new Option<double>("--vf-coef") { Description = "Value loss coefficient.", DefaultValueFactory = _ => Defaults.ValueCoef };
        var epochs = new Option<int>("--ppo-epochs") { Description = "Passes over each step's rollouts.", DefaultValueFactory = _ => Defaults.PpoEpochs };
        var minibatches = new Option<int>("--minibatches") { Description = "Optimizer steps per pass.", DefaultValueFactory = _ => Defaults.MiniBatches };
        var eosPenalty = new Option<double>("--missing-eos-penalty") { Description = "Subtracted from the score of a completion that never ends (0 = off).", DefaultValueFactory = _ => Defaults.MissingEosPenalty };
        var evalProblems = new Option<int>("--eval-problems") { Description = "Held-out problems for greedy accuracy before and after (aha demo's set: 200; 0 = off).", DefaultValueFactory = _ => 200 };
        var seed = new Option<long>("--seed") { Description = "Seed of problems, samples and minibatch order.", DefaultValueFactory = _ => Defaults.Seed };
        var saveEvery = new Option<int>("--save-every") { Description = "Checkpoint every N steps (and at the end and on Ctrl-C).", DefaultValueFactory = _ => Defaults.SaveEvery };
        var keepLast = new Option<int>("--keep-last") { Description = "Step checkpoints to keep (0 = all).", DefaultValueFactory = _ => Defaults.KeepLast };
        var gradClip = new Option<double>("--grad-clip") { Description = "Gradient-norm clip of each model (0 = off).", DefaultValueFactory = _ => Defaults.MaxGradNorm };
        var tensorboard = new Option<bool>("--tensorboard") { Description = "Also write TensorBoard event files." };
        var run = new RunOptions();
        var taskOptions = new TaskOptions();
        var lora = new LoraCliOptions();
        var command = new Command("ppo", "PPO for language models against a reward model (or rule rewards), with a value model, GAE and a KL penalty in the reward.")
        {
            model, rewardModel, valueInit, output, task, template, steps, prompts, samples, maxTokens, temperature, lr, valueLr, klCoef, targetKl,
            lambda, gamma, clip, valueClip, vfCoef, epochs, minibatches, eosPenalty, evalProblems, seed, saveEvery, keepLast, gradClip, tensorboard,
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
            r = RunSpec.Resolve(r, saved);
            var options = new PpoOptions
            {
                Steps = r.GetValue(steps), PromptsPerStep = r.GetValue(prompts), SamplesPerPrompt = r.GetValue(samples), MaxCompletionTokens = r.GetValue(maxTokens),
                Temperature = r.GetValue(temperature), LearningRate = r.GetValue(lr), ValueLearningRate = r.GetValue(valueLr), KlCoef = r.GetValue(klCoef),
                TargetKl = r.GetValue(targetKl), Lambda = r.GetValue(lambda), Gamma = r.GetValue(gamma), ClipRange = r.GetValue(clip), ValueClipRange = r.GetValue(valueClip),
                ValueCoef = r.GetValue(vfCoef), PpoEpochs = r.GetValue(epochs), MiniBatches = r.GetValue(minibatches), MissingEosPenalty = r.GetValue(eosPenalty),
                Seed = r.GetValue(seed), SaveEvery = r.GetValue(saveEvery), KeepLast = r.GetValue(keepLast), MaxGradNorm = r.GetValue(gradClip),
                PromptStyle = Prompts.ParseStyle(r.GetValue(template)!),
            }.Validate();
            var loraConfig = lora.Read(r); // before any loading: a bad --lora-targets fails at once
            if (adapterResume is not null && loraConfig is null) throw new ArgumentException($"{adapterResume.Directory} is a LoRA checkpoint; resume it with the run's --lora-* options.");
            string basePath = r.GetValue(model) ?? throw new ArgumentException("--model is required: the policy to improve (a run or checkpoint folder).");
            var chosen = TaskRegistry.Create(r.GetValue(task)!, taskOptions.Read(r));
            var dtype = run.ComputeDtype(r);
            var (policy, baseCheckpoint) = Cli.LoadModel(basePath, device, dtype);
            RunSpec.CheckBaseUnchanged(saved, baseCheckpoint.Directory);
            var tokenizer = baseCheckpoint.Tokenizer;

            LlamaModel? rm = null;
            RewardSet rewards;
            if (r.GetValue(rewardModel) is { } rmPath)
            {
                (rm, var rmCheckpoint) = Cli.LoadModel(rmPath, device, dtype);
                if (!rm.Config.SequenceClassification) throw new ArgumentException($"--reward-model {rmPath} is a causal LM, not a reward model (its config.json says {rm.Config.ModelType} *ForCausalLM); train one with aha rm.");
                if (rmCheckpoint.Tokenizer.VocabSize != tokenizer.VocabSize)
                    throw new ArgumentException($"--reward-model {rmPath} has a tokenizer of {rmCheckpoint.Tokenizer.VocabSize} ids, the policy {tokenizer.VocabSize}; PPO's value model reads the policy's ids, so both must share a tokenizer.");
                rewards = new RewardSet([(new RewardModelReward(rm, rmCheckpoint.Tokenizer, rm.Config.MaxPositionEmbeddings), 1f)]);
            }
            else rewards = RewardSet.R1Zero(chosen);
            torch.manual_seed(options.Seed); // a fresh value head draws the same weights in the same run
            string init = r.GetValue(valueInit)!;
            var value = init switch
            {
                "rm" when rm is not null => RewardModels.Clone(rm),
                "rm" or "policy" => RewardModels.FromCausalLm(policy, tokenizer.PadId),
                _ => throw new ArgumentException($"--value-init '{init}': use rm (the reward model) or policy (the policy's trunk with a fresh head)."),
            };
            if (init == "rm" && rm is null) Console.Error.WriteLine("note: no --reward-model, so the value model starts from the policy's trunk with a fresh head.");
            if (loraConfig is not null)
            {
                torch.manual_seed(options.Seed); // the adapters' A matrices: the same run draws the same ones
                policy.AttachLora(loraConfig); // the KL reference is then the policy with its adapters off
            }

            var problems = ModelEvaluator.Problems(chosen, Math.Max(1, r.GetValue(evalProblems)));
            double? Evaluate(string label)
            {
                if (r.GetValue(evalProblems) <= 0) return null;
                var report = ModelEvaluator.Evaluate(policy, tokenizer, chosen, problems, new EvalOptions
                    { MaxNewTokens = options.MaxCompletionTokens, BatchSize = 100, Seed = options.Seed, PromptStyle = options.PromptStyle });
                Console.Error.WriteLine($"{label}: held-out greedy accuracy {report.Summary.Accuracy:P1} on {problems.Count} problems, {report.Summary.MeanCompletionTokens:F1} tokens");
                return report.Summary.Accuracy;
            }
            double? before = saved is null ? Evaluate("before PPO") : saved.Get<double?>("accuracy_before");

            Console.Error.WriteLine($"policy {baseCheckpoint.Directory}; task {chosen.Name}; {options.Rollouts} rollouts/step; reward {string.Join(" + ", rewards.Terms.Select(t => t.Function.Name))}; value model from {(init == "rm" && rm is not null ? "the reward model" : "the policy")}");
            var template0 = new TrainingState { Step = 0, Trainer = "ppo" }
                .With("base_model", Path.GetFullPath(basePath)).With("accuracy_before", before)
                .With("base_model_sha256", saved?.Get<string>("base_model_sha256") ?? RunSpec.WeightsHash(baseCheckpoint.Directory))
                .With("spec", RunSpec.Capture(r));
            var (result, history) = TrainingSession.Run(saved?.Step ?? 0, options.Steps, (log, progress, cancel) =>
            {
                using var trainer = new PpoTrainer(policy, value, tokenizer, chosen, rewards, options)
                {
                    RunDirectory = outDir, StateTemplate = template0, TensorBoard = r.GetValue(tensorboard), Log = log,
                    OnStep = progress is null ? null : s => progress(s.Step + 1),
                };
                return adapterResume is null ? trainer.Run(resume, cancel) : trainer.Run(adapterResume, cancel);
            });
            double? after = result.Outcome == TrainingOutcome.Completed ? Evaluate("after PPO") : null;
            var rows = history.Select(s => (s.Step + 1, s.Scalars)).ToList();
            if (rows.Count > 0)
            {
                RlhfPlots.Lines(Path.Combine(outDir, "reward_vs_accuracy.png"), "Proxy reward vs true accuracy (reward hacking shows as a gap)", "PPO step", "reward-model score",
                    rows, [("score", "reward-model score (trained on)")], [("accuracy", "verifier accuracy of the rollouts (never trained on)")], "accuracy");
                RlhfPlots.Lines(Path.Combine(outDir, "kl_length.png"), "KL to the reference and completion length", "PPO step", "KL (sum over tokens, nats)",
                    rows, [("kl", "KL")], [("completion_tokens", "completion tokens")], "tokens");
            }
            var last = history.LastOrDefault();
            var extra = new JsonObject
            {
                ["task"] = chosen.Name,
                ["base_model"] = Path.GetFullPath(basePath),
                ["reward_model"] = r.GetValue(rewardModel) is { } p ? Path.GetFullPath(p) : null,
                ["accuracy_before"] = before,
                ["accuracy_after"] = after,
                ["eval_problems"] = r.GetValue(evalProblems),
                ["score"] = last?["score"],
                ["rollout_accuracy"] = last?["accuracy"],
                ["kl"] = last?["kl"],
                ["value_loss"] = last?["value_loss"],
                ["completion_tokens"] = last?["completion_tokens"],
                ["seconds_generation"] = history.Sum(s => s["seconds_generation"]),
                ["seconds_scoring"] = history.Sum(s => s["seconds_reward"] + s["seconds_scoring"]),
                ["seconds_update"] = history.Sum(s => s["seconds_update"]),
            };
            Console.WriteLine(TrainingSession.WriteSummary(outDir, "ppo", result, policy.parameters().Sum(p => p.numel()), clock, extra));
            return TrainingSession.ExitCode(result);
        }));
        return command;
    }
}
