using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Aha.Constitutional;
using Aha.Model;
using Aha.Preferences;
using Aha.Remote;
using Aha.Tasks;
using Aha.Tokenizer;
using Aha.Training;

namespace Aha.Cli.Commands;

/// <summary>`aha cai sl` and `aha cai rl`: Constitutional AI (Bai et al. 2022) on Aha's models, measured against the task's verifier.</summary>
static class CaiCommand
{
    public static Command Create()
    {
        var command = new Command("cai", "Constitutional AI: sl (critique → revision → SFT) and rl (AI preference labels → reward model → PPO or GRPO).");
        command.Subcommands.Add(Sl());
        command.Subcommands.Add(Rl());
        return command;
    }

    /// <summary>The options both subcommands share.</summary>
    sealed class Common
    {
        public Option<string> Model { get; } = new("--model") { Description = "The model to improve: a run or checkpoint folder.", Required = true };
        public Option<string> Task { get; } = new("--task") { Description = $"Task: {string.Join(", ", TaskRegistry.Names)}.", DefaultValueFactory = _ => "addition" };
        public Option<string> Constitution { get; } = new("--constitution") { Description = $"Principles: a built-in one ({string.Join(", ", Aha.Constitutional.Constitution.DefaultNames)}) or a .md/.json file.", DefaultValueFactory = _ => "arithmetic" };
        public Option<string> Template { get; } = new("--template") { Description = "Prompt template: short, r1zero or chat.", DefaultValueFactory = _ => "short" };
        public Option<int> MaxTokens { get; } = new("--max-tokens") { Description = "Longest response (and revision).", DefaultValueFactory = _ => 64 };
        public Option<int> EvalProblems { get; } = new("--eval-problems") { Description = "Held-out problems for greedy accuracy before and after (0 = off).", DefaultValueFactory = _ => 200 };
        public Option<long> Seed { get; } = new("--seed") { Description = "Seed of problems, samples, principles and training order.", DefaultValueFactory = _ => 1 };
        public Option<bool> Overwrite { get; } = new("--overwrite") { Description = "Delete an existing run in --out first." };
        public Option<int> Threads { get; } = RunOptions.NewThreads();
        public Option<string> Device { get; } = new("--device") { Description = "cpu, cuda or auto.", DefaultValueFactory = _ => "auto" };
        public Option<string> Dtype { get; } = RunOptions.NewDtype();
        public TaskOptions TaskOptions { get; } = new();

        public void AddTo(Command command)
        {
            foreach (var option in new Option[] { Model, Task, Constitution, Template, MaxTokens, EvalProblems, Seed, Overwrite, Threads, Device, Dtype }) command.Options.Add(option);
            TaskOptions.AddTo(command);
        }

        public (LlamaModel Model, ITokenizer Tokenizer, string Directory, ITask Task, Constitution Constitution, TorchSharp.torch.Device Device) Load(ParseResult r, string outDir)
        {
            var constitution = Aha.Constitutional.Constitution.Resolve(r.GetValue(Constitution)!); // before any loading: a bad file fails at once
            var task = TaskRegistry.Create(r.GetValue(Task)!, TaskOptions.Read(r));
            if (Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any())
            {
                if (!r.GetValue(Overwrite)) throw new ArgumentException($"--out {outDir} is not empty; pass --overwrite to replace it (resuming a CAI run is not supported).");
                Directory.Delete(outDir, recursive: true);
            }
            RunOptions.InitializeTorch(r, Threads);
            var device = Runtime.TorchRuntime.ResolveDevice(r.GetValue(Device)!);
            var (model, checkpoint) = Cli.LoadModel(r.GetValue(Model)!, device, RunOptions.ComputeDtype(r, Dtype));
            return (model, checkpoint.Tokenizer, checkpoint.Directory, task, constitution, device);
        }
    }

    static Command Sl()
    {
        var d = new SlCaiOptions();
        var common = new Common();
        var output = new Option<string>("--out") { Description = "Run folder: revisions.jsonl, sft/ checkpoints, summary.json.", DefaultValueFactory = _ => "runs/cai-sl" };
        var prompts = new Option<int>("--prompts") { Description = "Training problems to answer, critique and revise.", DefaultValueFactory = _ => d.Prompts };
        var rounds = new Option<int>("--rounds") { Description = "Critique → revision rounds per response (a principle sampled each round).", DefaultValueFactory = _ => d.Rounds };
        var temperature = new Option<double>("--temperature") { Description = "Temperature of the first response.", DefaultValueFactory = _ => d.Temperature };
        var revisionTemperature = new Option<double>("--revision-temperature") { Description = "Temperature of critiques and revisions (0 = greedy).", DefaultValueFactory = _ => d.RevisionTemperature };
        var steps = new Option<int>("--steps") { Description = "SFT steps on (prompt, final revision); 0 revises only.", DefaultValueFactory = _ => d.Sft.Steps };
        var batch = new Option<int>("--batch-size") { Description = "SFT rows per step.", DefaultValueFactory = _ => d.Sft.BatchSize };
        var lr = new Option<double>("--lr") { Description = "SFT learning rate.", DefaultValueFactory = _ => d.Sft.LearningRate };
        var command = new Command("sl", "SL-CAI: sample a response, have the model critique it against a sampled principle and revise it (N rounds), then SFT on (prompt, final revision).")
        {
            output, prompts, rounds, temperature, revisionTemperature, steps, batch, lr,
        };
        common.AddTo(command);
        command.SetAction(r => Cli.Run(() =>
        {
            var clock = Stopwatch.StartNew();
            string outDir = r.GetValue(output)!;
            long seed = r.GetValue(common.Seed);
            var options = new SlCaiOptions
            {
                Prompts = r.GetValue(prompts), Rounds = r.GetValue(rounds), Temperature = r.GetValue(temperature), RevisionTemperature = r.GetValue(revisionTemperature),
                MaxCompletionTokens = r.GetValue(common.MaxTokens), PromptStyle = Prompts.ParseStyle(r.GetValue(common.Template)!), Seed = seed,
                EvalProblems = r.GetValue(common.EvalProblems),
                Sft = d.Sft with { Steps = r.GetValue(steps), BatchSize = r.GetValue(batch), LearningRate = r.GetValue(lr), Seed = seed, WarmupSteps = Math.Min(d.Sft.WarmupSteps, r.GetValue(steps) / 10) },
            }.Validate();
            if (options.Sft.Steps > 0) options.Sft.Validate();
            var (model, tokenizer, from, task, constitution, _) = common.Load(r, outDir);
            Console.Error.WriteLine($"model {from}; task {task.Name}; constitution {constitution.Name} ({constitution.Principles.Count} principles); {options.Prompts} prompts × {options.Rounds} round(s)");
            var result = ConstitutionalAi.RunSl(model, tokenizer, task, constitution, options, outDir, Console.Error.WriteLine);
            var t = result.Tally;
            var summary = new JsonObject
            {
                ["command"] = "cai sl", ["model"] = Path.GetFullPath(from), ["task"] = task.Name, ["constitution"] = constitution.Name,
                ["prompts"] = t.Examples, ["rounds"] = options.Rounds,
                ["initial_correct"] = t.InitialCorrect, ["final_correct"] = t.FinalCorrect, ["wrong_to_right"] = t.WrongToRight, ["right_to_wrong"] = t.RightToWrong,
                ["text_changed"] = t.TextChanged, ["empty_revisions"] = t.EmptyRevisions,
                ["per_round"] = new JsonArray([.. t.PerRound.Select(p => (JsonNode)new JsonObject { ["wrong_to_right"] = p.WrongToRight, ["right_to_wrong"] = p.RightToWrong })]),
                ["sft_steps"] = options.Sft.Steps, ["sft_loss"] = Round(result.Sft?.Loss),
                ["accuracy_before"] = Round(result.AccuracyBefore), ["accuracy_after"] = Round(result.AccuracyAfter), ["eval_problems"] = options.EvalProblems,
                ["checkpoint"] = result.Checkpoint is null ? null : Path.GetFullPath(result.Checkpoint), ["revisions"] = Path.GetFullPath(result.RevisionsPath),
                ["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1),
            };
            return Finish(outDir, summary, result.Sft);
        }));
        return command;
    }

    static Command Rl()
    {
        var d = new RlCaiOptions();
        var common = new Common();
        var output = new Option<string>("--out") { Description = "Run folder: pairs.jsonl, rm/, ppo/ or grpo/, summary.json.", DefaultValueFactory = _ => "runs/cai-rl" };
        var prompts = new Option<int>("--prompts") { Description = "Training problems to sample completions for; every two completions get one AI label.", DefaultValueFactory = _ => d.Collection.Prompts };
        var samples = new Option<int>("--samples") { Description = "K completions per prompt (K(K−1)/2 labels).", DefaultValueFactory = _ => d.Collection.Samples };
        var judge = new Option<string>("--judge") { Description = "The feedback model: self (the policy), or another Aha checkpoint folder. Ignored with --judge-url.", DefaultValueFactory = _ => "self" };
        var judgeUrl = new Option<string?>("--judge-url") { Description = "An OpenAI-compatible endpoint as the feedback model, e.g. http://127.0.0.1:11434/v1 (Ollama), :8080/v1 (llama.cpp), :8000/v1 (vLLM, aha serve)." };
        var judgeModel = new Option<string?>("--judge-model") { Description = "The model name the endpoint serves (required with --judge-url)." };
        var judgeKey = new Option<string?>("--judge-key-env") { Description = "Name of the environment variable holding the endpoint's API key (none sent without it)." };
        var judgeTimeout = new Option<double>("--judge-timeout") { Description = "Seconds one endpoint request may take.", DefaultValueFactory = _ => 120 };
        var judgeRetries = new Option<int>("--judge-retries") { Description = "Further attempts after a refused connection, a timeout, 408, 429 or 5xx.", DefaultValueFactory = _ => 3 };
        var judgeMode = new Option<string>("--judge-mode") { Description = "soft (the A/B choice probabilities, as the paper) or hard (one sampled answer).", DefaultValueFactory = _ => "soft" };
        var judgeMaxTokens = new Option<int>("--judge-max-tokens") { Description = "Longest endpoint reply in hard mode (a reasoning model needs room to think first).", DefaultValueFactory = _ => 16 };
        var oneOrder = new Option<bool>("--one-order") { Description = "Ask the judge once per pair instead of in both orders (half the calls; the judge's position bias stays)." };
        var labelsOnly = new Option<bool>("--labels-only") { Description = "Stop after labelling: measure the AI labels' agreement with the verifier only." };
        var rmSteps = new Option<int>("--rm-steps") { Description = "Reward-model steps.", DefaultValueFactory = _ => d.Reward.Steps };
        var rmBatch = new Option<int>("--rm-batch-size") { Description = "Pairs per reward-model step.", DefaultValueFactory = _ => d.Reward.BatchSize };
        var rmLr = new Option<double>("--rm-lr") { Description = "Reward-model learning rate.", DefaultValueFactory = _ => d.Reward.LearningRate };
        var algorithm = new Option<string>("--algorithm") { Description = "ppo (value model, as the paper) or grpo (the preference model as its reward).", DefaultValueFactory = _ => "ppo" };
        var steps = new Option<int>("--steps") { Description = "RL steps.", DefaultValueFactory = _ => d.Ppo.Steps };
        var rlPrompts = new Option<int>("--rl-prompts") { Description = "Prompts per RL step.", DefaultValueFactory = _ => d.Ppo.PromptsPerStep };
        var lr = new Option<double>("--lr") { Description = "Policy learning rate.", DefaultValueFactory = _ => d.Ppo.LearningRate };
        var command = new Command("rl", "RL-CAI (RLAIF): a feedback model labels pairs of the policy's completions under sampled principles; a reward model learns the labels; PPO or GRPO trains against it.")
        {
            output, prompts, samples, judge, judgeUrl, judgeModel, judgeKey, judgeTimeout, judgeRetries, judgeMode, judgeMaxTokens, oneOrder, labelsOnly, rmSteps, rmBatch, rmLr, algorithm, steps, rlPrompts, lr,
        };
        common.AddTo(command);
        command.SetAction(r => Cli.Run(() =>
        {
            var clock = Stopwatch.StartNew();
            string outDir = r.GetValue(output)!;
            long seed = r.GetValue(common.Seed);
            var style = Prompts.ParseStyle(r.GetValue(common.Template)!);
            int maxTokens = r.GetValue(common.MaxTokens);
            var mode = r.GetValue(judgeMode) switch
            {
                "soft" => JudgeMode.Soft,
                "hard" => JudgeMode.Hard,
                var m => throw new ArgumentException($"--judge-mode '{m}': use soft (choice probabilities) or hard (a sampled answer)."),
            };
            var rl = r.GetValue(algorithm) switch
            {
                "ppo" => RlAlgorithm.Ppo,
                "grpo" => RlAlgorithm.Grpo,
                var a => throw new ArgumentException($"--algorithm '{a}': use ppo or grpo."),
            };
            var options = d with
            {
                Collection = d.Collection with { Prompts = r.GetValue(prompts), Samples = r.GetValue(samples), MaxCompletionTokens = maxTokens, PromptStyle = style, Seed = seed },
                Reward = d.Reward with { Steps = r.GetValue(rmSteps), BatchSize = r.GetValue(rmBatch), LearningRate = r.GetValue(rmLr), Seed = seed },
                Algorithm = rl,
                Ppo = d.Ppo with { Steps = r.GetValue(steps), PromptsPerStep = r.GetValue(rlPrompts), MiniBatches = Math.Clamp(r.GetValue(rlPrompts) * d.Ppo.SamplesPerPrompt, 1, d.Ppo.MiniBatches), LearningRate = r.GetValue(lr), MaxCompletionTokens = maxTokens, PromptStyle = style, Seed = seed },
                Grpo = d.Grpo with { Steps = r.GetValue(steps), PromptsPerStep = r.GetValue(rlPrompts), LearningRate = r.GetValue(lr), MaxCompletionTokens = maxTokens, PromptStyle = style, Seed = seed },
                EvalProblems = r.GetValue(common.EvalProblems), LabelsOnly = r.GetValue(labelsOnly),
            };
            options.Validate();
            string? url = r.GetValue(judgeUrl);
            ChatEndpoint? endpoint = null;
            if (url is not null)
            {
                if (!Uri.TryCreate(url, UriKind.Absolute, out var uri)) throw new ArgumentException($"--judge-url {url}: not an absolute URL; write it as http://HOST:PORT/v1.");
                endpoint = new ChatEndpoint(new ChatEndpointOptions
                {
                    BaseUrl = uri, Model = r.GetValue(judgeModel) ?? throw new ArgumentException("--judge-model is required with --judge-url: the name the server serves (GET <url>/models lists them)."),
                    ApiKeyVariable = r.GetValue(judgeKey), Deadline = TimeSpan.FromSeconds(r.GetValue(judgeTimeout)), Retries = r.GetValue(judgeRetries), Option = "--judge-url",
                });
            }
            var (policy, tokenizer, from, task, constitution, device) = common.Load(r, outDir);
            LlamaModel? judgeModelWeights = null;
            IJudge judgeImpl;
            if (endpoint is not null) judgeImpl = new EndpointJudge(endpoint, mode, r.GetValue(judgeMaxTokens));
            else if (r.GetValue(judge) is "self") judgeImpl = new ModelJudge(policy, tokenizer, mode, "self");
            else
            {
                var (weights, checkpoint) = Cli.LoadModel(r.GetValue(judge)!, device, RunOptions.ComputeDtype(r, common.Dtype));
                judgeModelWeights = weights;
                judgeImpl = new ModelJudge(weights, checkpoint.Tokenizer, mode, $"model:{checkpoint.Directory}");
            }
            var labeler = new AiLabeler(judgeImpl, constitution, seed, BothOrders: !r.GetValue(oneOrder));
            Console.Error.WriteLine($"policy {from}; task {task.Name}; constitution {constitution.Name}; judge {judgeImpl.Name} ({mode.ToString().ToLowerInvariant()}, {(labeler.BothOrders ? "both orders" : "one order")}); " +
                                    $"{options.Collection.Prompts} prompts × {options.Collection.Samples} samples; then rm {options.Reward.Steps} steps, {rl.ToString().ToLowerInvariant()} {options.Ppo.Steps} steps");
            RlCaiResult result;
            try { result = ConstitutionalAi.RunRl(policy, tokenizer, task, labeler, options, outDir, Console.Error.WriteLine); }
            finally
            {
                judgeModelWeights?.Dispose();
                endpoint?.Dispose();
            }
            var q = result.LabelQuality;
            var rm = result.RewardModel;
            var summary = new JsonObject
            {
                ["command"] = "cai rl", ["model"] = Path.GetFullPath(from), ["task"] = task.Name, ["constitution"] = constitution.Name,
                ["judge"] = judgeImpl.Name, ["judge_mode"] = mode.ToString().ToLowerInvariant(), ["both_orders"] = labeler.BothOrders,
                ["judge_calls"] = labeler.JudgeCalls, ["endpoint_requests"] = endpoint?.Requests, ["endpoint_retries"] = endpoint?.Retried,
                ["prompts"] = result.Tally.Prompts, ["completions"] = result.Tally.Completions, ["sample_accuracy"] = Round(result.Tally.SampleAccuracy),
                ["ai_labels"] = q.Labels, ["abstained"] = q.Abstained, ["soft_labels"] = q.SoftLabels, ["decisive_pairs"] = q.Decisive,
                ["ai_label_agreement"] = Round(q.Agreement), ["ai_label_mean_p_correct"] = Round(q.MeanProbabilityOfCorrect),
                ["pairs"] = Path.GetFullPath(result.PairsPath),
                ["rm_eval_accuracy"] = Round(rm?.Accuracy), ["rm_eval_verifier_agreement"] = Round(rm?.VerifierAgreement), ["rm_eval_verifier_pairs"] = rm?.VerifierPairs,
                ["reward_model"] = result.RewardModelCheckpoint is null ? null : Path.GetFullPath(result.RewardModelCheckpoint),
                ["algorithm"] = rl.ToString().ToLowerInvariant(),
                ["accuracy_before"] = Round(result.AccuracyBefore), ["accuracy_after"] = Round(result.AccuracyAfter), ["eval_problems"] = options.EvalProblems,
                ["checkpoint"] = result.PolicyCheckpoint is null ? null : Path.GetFullPath(result.PolicyCheckpoint),
                ["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1),
            };
            return Finish(outDir, summary, result.Rl);
        }));
        return command;
    }

    static int Finish(string outDir, JsonObject summary, TrainingResult? result)
    {
        Directory.CreateDirectory(outDir);
        string path = Path.Combine(outDir, "summary.json");
        File.WriteAllText(path + ".tmp", summary.ToJsonString(new() { WriteIndented = true }) + "\n");
        File.Move(path + ".tmp", path, overwrite: true);
        Console.WriteLine(summary.ToJsonString(Aha.Eval.ReportFiles.JsonLine));
        return result is null ? 0 : TrainingSession.ExitCode(result);
    }

    static JsonNode? Round(double? value) => value is { } v && double.IsFinite(v) ? Math.Round(v, 4) : null;
}
