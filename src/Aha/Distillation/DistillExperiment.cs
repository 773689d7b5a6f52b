using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Aha.Checkpoints;
using Aha.Eval;
using Aha.Model;
using Aha.Reports;
using Aha.Runtime;
using Aha.Tasks;
using Aha.Tasks.Rewards;
using Aha.Tokenizer;
using Aha.Training;
using TorchSharp;

namespace Aha.Distillation;

/// <summary>The settings of the distillation measurement; the budget is what <see cref="GrpoSteps"/> GRPO steps of the student cost.</summary>
public sealed record DistillExperimentOptions
{
    /// <summary>GRPO steps of arm (a); their FLOPs are the budget every arm spends.</summary>
    public int GrpoSteps { get; init; } = 40;
    public GrpoOptions Grpo { get; init; } = new() { SaveEvery = 0 };
    public DistillOptions Distill { get; init; } = new() { Prompts = 512, Samples = 4 };
    public LanguageModelTrainerOptions Sft { get; init; } = new()
    {
        BatchSize = 32, SequenceLength = 128, LearningRate = 1e-3, WarmupSteps = 10, EvalEvery = 0, SaveEvery = 0, LogEvery = 25, Seed = 42,
    };
    /// <summary>Share of the budget arm (c) spends on SFT before GRPO.</summary>
    public double SftShare { get; init; } = 0.5;
    public int EvalProblems { get; init; } = 200;
    /// <summary>Held-out evaluations along each arm (at equal shares of the budget), for the accuracy-over-compute plot.</summary>
    public int CurvePoints { get; init; } = 4;

    public DistillExperimentOptions Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new ArgumentException($"distill --experiment: {message}"); }
        Require(GrpoSteps > 0, $"--grpo-steps must be positive (got {GrpoSteps}).");
        Require(SftShare is > 0 and < 1, $"the SFT share of arm (c) must be in (0, 1) (got {SftShare}).");
        Require(EvalProblems > 0, $"--eval-problems must be positive (got {EvalProblems}).");
        Require(CurvePoints >= 1, $"curve points must be ≥ 1 (got {CurvePoints}).");
        Grpo.Validate();
        Distill.Validate();
        Sft.Validate();
        return this;
    }
}

/// <summary>One model's held-out result in the table, and (for an arm) the FLOPs it spent and its accuracy along the way.</summary>
public sealed record DistillRow(string Name, string Recipe, double StudentFlops, EvalSummary Greedy, double Seconds, IReadOnlyList<(double Flops, double Accuracy)> Curve);

/// <summary>
/// DeepSeek-R1's distillation comparison at toy scale: from one pretrained student, (a) GRPO alone, (b) SFT on a GRPO-trained
/// larger teacher's verified traces, (c) that SFT then GRPO, each spending the same student FLOPs (the budget is what (a)
/// spent; the teacher's generation is not charged to the student, as in the paper). All are scored greedily on the same held-out problems.
/// </summary>
public static class DistillExperiment
{
    public static IReadOnlyList<DistillRow> Run(string dir, string teacherPath, string studentPath, ITask task, DistillExperimentOptions options,
        Action<string> log, CancellationToken cancel = default)
    {
        var o = options.Validate();
        Directory.CreateDirectory(dir);
        var problems = ModelEvaluator.Problems(task, o.EvalProblems);
        var style = o.Distill.PromptStyle;
        EvalSummary Evaluate(LlamaModel model, ITokenizer tokenizer)
        {
            var report = ModelEvaluator.Evaluate(model, tokenizer, task, problems,
                new EvalOptions { PromptStyle = style, MaxNewTokens = o.Grpo.MaxCompletionTokens, BatchSize = 100, Seed = o.Sft.Seed });
            model.train();
            return report.Summary;
        }
        var rows = new List<DistillRow>();
        var clock = Stopwatch.StartNew();

        var (teacher, teacherCheckpoint) = ModelLoader.OpenAndLoad(teacherPath);
        var teacherEval = Evaluate(teacher, teacherCheckpoint.Tokenizer);
        log($"teacher {teacherCheckpoint.Directory}: {teacher.parameters().Sum(p => p.numel()):N0} parameters, held-out greedy accuracy {teacherEval.Accuracy:P1}");
        var collected = Distiller.CollectAsync(new ModelTeacher(teacher, teacherCheckpoint.Tokenizer, task, o.Distill, Path.GetFullPath(teacherCheckpoint.Directory)),
            task, o.Distill, dir, log, cancel).GetAwaiter().GetResult();
        var kept = collected.Traces.Where(t => t.Correct).ToList();
        log($"traces {collected.Tally.Traces}, kept {kept.Count} (teacher sampled accuracy {collected.Tally.TeacherAccuracy:P1})");
        rows.Add(new DistillRow("teacher", $"pretrained + GRPO ({teacher.parameters().Sum(p => p.numel()):N0} parameters)", 0, teacherEval, clock.Elapsed.TotalSeconds, []));
        teacher.Dispose();

        (LlamaModel Model, ITokenizer Tokenizer, long Parameters) Student()
        {
            var (model, checkpoint) = ModelLoader.OpenAndLoad(studentPath);
            model.train();
            return (model, checkpoint.Tokenizer, model.parameters().Sum(p => p.numel()));
        }
        {
            clock.Restart();
            var (model, tokenizer, parameters) = Student();
            rows.Add(new DistillRow("student", $"pretrained ({parameters:N0} parameters)", 0, Evaluate(model, tokenizer), clock.Elapsed.TotalSeconds, []));
            model.Dispose();
        }
        double pretrained = rows[^1].Greedy.Accuracy;
        List<(double, double)> Start() => [(0, pretrained)]; // every arm's curve starts at the pretrained student

        // (a) sets the budget: what its GRPO steps cost.
        double budget;
        {
            clock.Restart();
            var (model, tokenizer, parameters) = Student();
            var curve = Start();
            budget = Grpo(model, tokenizer, parameters, 0, double.PositiveInfinity, o.GrpoSteps, o.GrpoSteps, curve, "(a)");
            rows.Add(Finish("a-grpo", "GRPO only", model, tokenizer, budget, curve));
        }
        log($"budget: {budget:E3} student FLOPs");
        {
            clock.Restart();
            var (model, tokenizer, parameters) = Student();
            var curve = Start();
            double spent = Sft(model, tokenizer, budget, 0, curve, "(b)");
            rows.Add(Finish("b-distill", "SFT on teacher traces", model, tokenizer, spent, curve));
        }
        {
            clock.Restart();
            var (model, tokenizer, parameters) = Student();
            var curve = Start();
            double spent = Sft(model, tokenizer, budget * o.SftShare, 0, curve, "(c)");
            spent = Grpo(model, tokenizer, parameters, spent, budget, int.MaxValue, (int)Math.Ceiling((budget - spent) / (budget / o.GrpoSteps)), curve, "(c)");
            rows.Add(Finish("c-distill-grpo", $"SFT ({o.SftShare:P0} of budget), then GRPO", model, tokenizer, spent, curve));
        }
        Write(dir, rows, collected.Tally, kept.Count, budget, o);
        return rows;

        DistillRow Finish(string name, string recipe, LlamaModel model, ITokenizer tokenizer, double flops, List<(double, double)> curve)
        {
            // An arm is recomputed on every run (only the traces are resumed): an earlier run's model of it is replaced.
            if (Directory.Exists(Path.Combine(dir, name))) Directory.Delete(Path.Combine(dir, name), recursive: true);
            Checkpoint.Save(dir, name, model, model.Config, tokenizer, options: new CheckpointOptions { UpdateLatest = false });
            var eval = Evaluate(model, tokenizer);
            if (curve.Count == 0 || curve[^1].Item1 < flops) curve.Add((flops, eval.Accuracy));
            log($"{name}: {flops:E3} FLOPs, held-out greedy accuracy {eval.Accuracy:P1}");
            model.Dispose();
            return new DistillRow(name, recipe, flops, eval, clock.Elapsed.TotalSeconds, curve);
        }

        // GRPO from `spent` FLOPs for `steps` steps, or until the next step would overshoot `limit` by more than half a step
        // (its cost estimated from the last); returns the FLOPs spent by then. `planned` only labels the log lines.
        double Grpo(LlamaModel model, ITokenizer tokenizer, long parameters, double spent, double limit, int steps, int planned, List<(double, double)> curve, string arm)
        {
            var grpo = o.Grpo with { Steps = Math.Min(steps, 100_000) };
            using var trainer = new GrpoTrainer(model, tokenizer, task, RewardSet.R1Zero(task), grpo) { Log = log };
            var lengths = new Dictionary<string, int>(StringComparer.Ordinal);
            double start = spent, span = Math.Min(limit, double.MaxValue) - spent;
            int next = 1;
            double last = 0;
            for (long step = 0; step < steps && spent + last / 2 < limit; step++)
            {
                cancel.ThrowIfCancellationRequested();
                var report = trainer.Step(step);
                NativeMemory.TrimOnCadence(step + 1);
                last = StudentCompute.GrpoStep(model.Config, parameters, tokenizer, report, grpo.Beta > 0, lengths);
                spent += last;
                log($"{arm} {GrpoTrainer.FormatLine(step + 1, planned, report)} | flops {spent:E3}");
                double progress = double.IsFinite(limit) ? (spent - start) / span : (step + 1.0) / steps;
                if (progress >= (double)next / o.CurvePoints && next < o.CurvePoints) { curve.Add((spent, Evaluate(model, tokenizer).Accuracy)); next++; }
            }
            return spent;
        }

        // SFT on the kept traces for the steps that spend `budget`; returns `spent` plus what they cost.
        double Sft(LlamaModel model, ITokenizer tokenizer, double budget, double spent, List<(double, double)> curve, string arm)
        {
            var source = StudentTraining.Batches(tokenizer, task, kept, style, o.Sft);
            int steps = StudentTraining.StepsFor(budget, model, source, o.Sft);
            long parameters = model.parameters().Sum(p => p.numel());
            double perStep = StudentCompute.SftStep(model.Config, parameters, o.Sft.BatchSize * o.Sft.GradAccum, source.MeanRowLength);
            log($"{arm} SFT: {steps} steps of {o.Sft.BatchSize} rows over {source.Count} traces ({perStep:E3} FLOPs a step)");
            var marks = Enumerable.Range(1, o.CurvePoints).Select(i => (long)Math.Round(steps * (double)i / o.CurvePoints)).ToHashSet();
            new LanguageModelTrainer(model, tokenizer, o.Sft with { Steps = steps }, source)
            {
                Log = line => log($"{arm} {line}"),
                OnStep = r => { if (marks.Contains(r.Step) && r.Step < steps) curve.Add((spent + r.Step * perStep, Evaluate(model, tokenizer).Accuracy)); },
            }.Run(cancel: cancel);
            return spent + steps * perStep;
        }
    }

    static void Write(string dir, IReadOnlyList<DistillRow> rows, DistillTally tally, int kept, double budget, DistillExperimentOptions o)
    {
        var table = new StringBuilder();
        table.AppendLine("| model | recipe | student training FLOPs | held-out greedy accuracy | mean tokens | no answer |");
        table.AppendLine("| --- | --- | ---: | ---: | ---: | ---: |");
        foreach (var r in rows)
            table.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Name} | {r.Recipe} | {(r.StudentFlops > 0 ? r.StudentFlops.ToString("E2", CultureInfo.InvariantCulture) : "-")} | {100 * r.Greedy.Accuracy:F1}% | {r.Greedy.MeanCompletionTokens:F1} | {100 * r.Greedy.NoAnswerShare:F1}% |"));
        string traces = string.Create(CultureInfo.InvariantCulture,
            $"Teacher traces: {tally.Traces} requested ({tally.Problems} training problems × {o.Distill.Samples}, T {o.Distill.Temperature}, top-p {o.Distill.TopP}), {kept} kept by the verifier (teacher sampled accuracy {100 * tally.TeacherAccuracy:F1}%). Budget: {budget:E3} student FLOPs = {o.GrpoSteps} GRPO steps of {o.Grpo.PromptsPerStep} × {o.Grpo.GroupSize}.");
        var along = new StringBuilder();
        foreach (var r in rows.Where(r => r.Curve.Count > 0))
            along.AppendLine(string.Create(CultureInfo.InvariantCulture, $"- {r.Name}: {string.Join(", ", r.Curve.Select(p => $"{p.Flops:E2} → {100 * p.Accuracy:F1}%"))}"));
        var figure = ReportPlots.Curves(dir, "accuracy_vs_flops.png", "Held-out greedy accuracy over student FLOPs", "Student accuracy at matched compute",
            "held-out greedy accuracy", rows.Where(r => r.Curve.Count > 0).Select(r => (r.Name, (IReadOnlyList<(double, double)>)r.Curve, false)).ToList(), xLabel: "student training FLOPs");
        File.WriteAllText(Path.Combine(dir, "report.md"), $"# Distillation at matched student compute\n\n{traces}\n\n{table}\nHeld-out greedy accuracy along the way (student FLOPs → accuracy):\n\n{along}\n![{figure.Caption}]({figure.File})\n");
        var json = rows.Select(r => new Dictionary<string, object?>
        {
            ["name"] = r.Name, ["recipe"] = r.Recipe, ["student_flops"] = r.StudentFlops, ["accuracy"] = r.Greedy.Accuracy,
            ["mean_tokens"] = r.Greedy.MeanCompletionTokens, ["no_answer"] = r.Greedy.NoAnswerShare, ["seconds"] = Math.Round(r.Seconds, 1),
            ["curve"] = r.Curve.Select(p => new[] { p.Flops, p.Accuracy }).ToList(),
        });
        Durable.ReplaceText(Path.Combine(dir, "results.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["budget_flops"] = budget, ["traces"] = tally.Traces, ["kept"] = kept, ["teacher_sampled_accuracy"] = tally.TeacherAccuracy, ["rows"] = json,
        }, new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }
}
