using System.CommandLine;
using Aha.Pipeline;
using Aha.Tasks;

namespace Aha.Cli.Commands;

/// <summary>`aha pipeline r1`: DeepSeek-R1's four stages after a base model, resumable stage by stage, with a stage-by-stage report.</summary>
static class PipelineCommand
{
    public static Command Create()
    {
        var command = new Command("pipeline", "Multi-stage training pipelines.");
        command.Subcommands.Add(R1());
        return command;
    }

    static Command R1()
    {
        var output = new Option<string>("--out") { Description = "Run folder: one sub-folder per stage, report.md, summary.json. Rerunning continues it.", DefaultValueFactory = _ => "runs/pipeline-r1" };
        var quick = new Option<bool>("--quick") { Description = "A shorter version (under 20 minutes on 2 cores from a base checkpoint): fewer RL steps and eval problems." };
        var baseModel = new Option<string?>("--base") { Description = "The base model (run or checkpoint folder, e.g. an aha demo run's pretrain/ or a Hugging Face folder); default: pretrain one as aha demo does." };
        var fromStage = new Option<int?>("--from-stage") { Description = "Redo this stage (0 base, 1 cold start, 2 reasoning RL, 3 rejection SFT, 4 all-scenario RL) and the ones after it; default: continue after the last done stage." };
        var coldStartData = new Option<string?>("--cold-start-data") { Description = "Stage 1 from a JSONL file of {\"prompt\",\"completion\"} rows (prompts are put in --template) instead of the built-in generator." };
        var coldStartTeacher = new Option<string?>("--cold-start-teacher") { Description = "Stage 1 from a teacher model's samples, kept by the verifier and readability filters." };
        var coldStartExamples = new Option<int?>("--cold-start-examples") { Description = "Cold-start examples (default 1000)." };
        var reasoningSteps = new Option<int?>("--reasoning-steps") { Description = "Stage 2 GRPO steps (default 30, quick 15)." };
        var allScenarioSteps = new Option<int?>("--all-scenario-steps") { Description = "Stage 4 GRPO steps (default 30, quick 15)." };
        var rlLr = new Option<double?>("--rl-lr") { Description = "Learning rate of both GRPO stages (default 1e-4, the demo's)." };
        var template = new Option<string>("--template") { Description = "Prompt template of every stage: short, r1zero or chat (a chat model's own template).", DefaultValueFactory = _ => "short" };
        var seed = new Option<long>("--seed") { Description = "Seed of the whole pipeline.", DefaultValueFactory = _ => 42 };
        var threads = RunOptions.NewThreads();
        var command = new Command("r1", "DeepSeek-R1 at toy scale: cold-start SFT, reasoning RL, rejection sampling + SFT from the base, all-scenario RL (rules + a preference reward model); a report row per stage.")
        {
            output, quick, baseModel, fromStage, coldStartData, coldStartTeacher, coldStartExamples, reasoningSteps, allScenarioSteps, rlLr, template, seed, threads,
        };
        command.SetAction(r => Cli.Run(() =>
        {
            var o = r.GetValue(quick) ? R1PipelineOptions.Quick : R1PipelineOptions.Full;
            long s = r.GetValue(seed);
            o = o with { Seed = s, Base = o.Base with { Seed = s }, PromptStyle = Prompts.ParseStyle(r.GetValue(template)!) };
            if (r.GetValue(coldStartData) is not null && r.GetValue(coldStartTeacher) is not null)
                throw new ArgumentException("--cold-start-data and --cold-start-teacher are two sources for stage 1; give one.");
            if (r.GetValue(coldStartData) is { } file)
            {
                if (!File.Exists(file)) throw new FileNotFoundException($"--cold-start-data {file}: no such file; give a JSONL file of {{\"prompt\",\"completion\"}} rows.", file);
                o = o with { ColdStart = ColdStartSource.File, ColdStartPath = Path.GetFullPath(file) };
            }
            if (r.GetValue(coldStartTeacher) is { } teacher) o = o with { ColdStart = ColdStartSource.Teacher, ColdStartPath = Path.GetFullPath(teacher) };
            if (r.GetValue(coldStartExamples) is { } n) o = o with { ColdStartExamples = n };
            if (r.GetValue(reasoningSteps) is { } rs) o = o with { ReasoningRl = o.ReasoningRl with { Steps = rs } };
            if (r.GetValue(allScenarioSteps) is { } a) o = o with { AllScenarioRl = o.AllScenarioRl with { Steps = a } };
            if (r.GetValue(rlLr) is { } lr) o = o with { ReasoningRl = o.ReasoningRl with { LearningRate = lr }, AllScenarioRl = o.AllScenarioRl with { LearningRate = lr } };
            o.Validate();
            RunOptions.InitializeTorch(r, threads);
            string dir = r.GetValue(output)!;
            string? basePath = r.GetValue(baseModel) is { } b ? Path.GetFullPath(b) : null;
            Console.Error.WriteLine($"writing to {dir}");
            var result = TrainingSession.Run(0, R1Pipeline.StageNames.Count, (log, _, cancel) => R1Pipeline.Run(dir, o, basePath, r.GetValue(fromStage), log, cancel));
            string commandLine = "aha pipeline r1" + (r.GetValue(quick) ? " --quick" : "") + (basePath is null ? "" : $" --base {r.GetValue(baseModel)}");
            var settings = new Dictionary<string, object>
            {
                ["task"] = "addition (two 2-digit numbers), held-out split; general prompts: which of two 2-digit numbers is larger",
                ["base"] = basePath ?? $"pretrained here: {o.Base.PretrainSteps} steps of the demo's corpus",
                ["template"] = o.PromptStyle.ToString().ToLowerInvariant(),
                ["cold start"] = $"{o.ColdStart.ToString().ToLowerInvariant()}, {o.ColdStartExamples} examples, {o.ColdStartSft.Steps} SFT steps of {o.ColdStartSft.BatchSize}, lr {o.ColdStartSft.LearningRate}",
                ["reasoning RL"] = $"{o.ReasoningRl.Steps} GRPO steps of {o.ReasoningRl.PromptsPerStep} × {o.ReasoningRl.GroupSize}, lr {o.ReasoningRl.LearningRate}, β {o.ReasoningRl.Beta}",
                ["rejection sampling"] = $"{o.RejectionPrompts} prompts × {o.RejectionSamples} at T {o.RejectionTemperature}, ≤ {o.KeepPerPrompt} kept per prompt, ≤ {o.Readability.MaxTokens} tokens; + {o.NonReasoningRows} non-reasoning rows; {o.RetrainEpochs} epochs from the base",
                ["all-scenario RL"] = $"{o.AllScenarioRl.Steps} GRPO steps, every {o.GeneralEvery}th prompt general; RM {o.RewardModel.Steps} steps on {o.PreferencePrompts} × {o.PreferenceSamples} samples' pairs (label noise {o.LabelNoise})",
                ["max completion tokens"] = o.MaxCompletionTokens,
                ["seed"] = o.Seed,
                ["threads"] = TorchSharp.torch.get_num_threads(),
            };
            string report = PipelineReport.Write(dir, commandLine, o, result, settings);
            Console.Error.WriteLine($"report: {report}");
            var summary = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir, PipelineReport.SummaryFile)))!;
            Console.WriteLine(summary.ToJsonString(Aha.Eval.ReportFiles.JsonLine));
            return result.Interrupted ? 130 : 0;
        }));
        return command;
    }
}
