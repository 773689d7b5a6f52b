using System.Text.Json;
using Aha.Checkpoints;
using Aha.Eval;
using Aha.Generation;
using Aha.Model;
using Aha.Tasks;
using Aha.Tasks.Arithmetic;
using Aha.Tests.Model;
using Aha.Tokenizer;
using TorchSharp;

namespace Aha.Tests.Eval;

public class ModelEvaluatorTests
{
    static readonly ITask Task = new ArithmeticTask();
    static readonly ITokenizer Tok = ByteTokenizer.Default;
    static readonly IReadOnlyList<TaskItem> Items = ModelEvaluator.Problems(Task, 3);
    static readonly EvalOptions Greedy = new() { MaxNewTokens = 12, BatchSize = 4 };
    static readonly EvalOptions Sampled = Greedy with { Samples = 4 };

    /// <summary>The tiny test shape with the byte tokenizer's vocabulary and special ids, so prompts encode as in real runs.</summary>
    static ModelConfig ByteConfig() => TinyModels.Config() with { VocabSize = ByteTokenizer.VocabSize, BosTokenId = ByteTokenizer.Bos, EosTokenId = ByteTokenizer.Eos, PadTokenId = ByteTokenizer.Pad };

    static LlamaModel NewModel(long seed = 1234) => TinyModels.Random(ByteConfig(), seed);

    static string Json(EvalSummary summary) => JsonSerializer.Serialize(summary, ReportFiles.JsonLine);

    static List<string> Texts(EvalReport report) => report.Samples.Select(s => s.Row.Completion).ToList();

    [Fact]
    public void Greedy_evaluation_is_deterministic_and_does_not_depend_on_the_batch_size()
    {
        using var model = NewModel();
        var first = ModelEvaluator.Evaluate(model, Tok, Task, Items, Greedy);
        var again = ModelEvaluator.Evaluate(model, Tok, Task, Items, Greedy with { BatchSize = 1 });
        Assert.Equal(Texts(first), Texts(again));
        Assert.Equal(Json(first.Summary), Json(again.Summary));
        Assert.Equal(3, first.Summary.Problems);
        Assert.Equal(3, first.Summary.Samples);
        Assert.Equal(first.Summary.Accuracy, first.Summary.PassAtK[1]);
        Assert.Equal(new SamplingSettings(1, 0.0, 1.0, 12), first.Summary.Sampling);
    }

    [Fact]
    public void Sampled_reports_agree_with_the_scorer_run_over_the_same_completions()
    {
        using var model = NewModel();
        var report = ModelEvaluator.Evaluate(model, Tok, Task, Items, Sampled);
        Assert.Equal(12, report.Summary.Samples);
        Assert.Equal([1, 2, 4], report.Summary.PassAtK.Keys.Order());
        Assert.Equal((0.6, 0.95), (report.Summary.Sampling!.Temperature, report.Summary.Sampling.TopP));
        Assert.All(report.Problems, p => Assert.Equal(4, p.Samples));
        Assert.Equal(Items.Select(i => i.Id), report.Problems.Select(p => p.Id));

        var rescored = Scorer.Score(Task, report.Samples.Select(s => s.Row).ToList(), [1, 2, 4]);
        foreach (var k in new[] { 1, 2, 4 })
        {
            Assert.Equal(rescored.Summary.PassAtK[k], report.Summary.PassAtK[k]);
            Assert.Equal(rescored.Summary.MajAtK[k], report.Summary.MajAtK[k]);
        }
        Assert.Equal(report.Samples.Average(s => (double)s.Row.Tokens!.Value), report.Summary.MeanCompletionTokens);
        Assert.All(report.Samples, s => Assert.InRange(s.Row.Tokens!.Value, 1, 12));
        Assert.All(report.Samples, s => Assert.Equal(s.Row.Tokens == 12 && !s.Row.Completion.EndsWith(PromptSpec.AnswerEnd), s.Row.Truncated));
    }

    [Fact]
    public void The_same_seed_gives_the_same_report_and_another_seed_other_samples()
    {
        using var model = NewModel();
        var a = ModelEvaluator.Evaluate(model, Tok, Task, Items, Sampled with { Seed = 7 });
        var b = ModelEvaluator.Evaluate(model, Tok, Task, Items, Sampled with { Seed = 7, BatchSize = 3 });
        var c = ModelEvaluator.Evaluate(model, Tok, Task, Items, Sampled with { Seed = 8 });
        Assert.Equal(Texts(a), Texts(b));
        Assert.Equal(Json(a.Summary), Json(b.Summary));
        Assert.NotEqual(Texts(a), Texts(c));
        // The samples of one problem are drawn with different seeds, so they are not all copies of each other.
        Assert.Contains(a.Problems, p => a.Samples.Where(s => s.Row.Id == p.Id).Select(s => s.Row.Completion).Distinct().Count() > 1);
    }

    [Fact]
    public void Sample_s_of_problem_p_is_seeded_by_its_position_alone()
    {
        using var model = NewModel();
        // Problem 1 evaluated alone with the seed shifted by one problem stride draws exactly what it drew as problem 1.
        var all = ModelEvaluator.Generate(model, Tok, Task, Items, Sampled with { Seed = 5 });
        var alone = ModelEvaluator.Generate(model, Tok, Task, [Items[1]], Sampled with { Seed = 5 + EvalOptions.ProblemSeedStride });
        Assert.Equal(all.Where(r => r.Id == Items[1].Id).Select(r => r.Completion), alone.Select(r => r.Completion));
    }

    [Theory]
    [InlineData("<think>2+2</think> <answer>4</answer>", 36)]
    [InlineData("<answer>4</answer> more", 17)]
    [InlineData("</answ", -1)]
    [InlineData("<answer>4</Answer>", -1)]
    public void The_stop_predicate_fires_on_the_token_that_closes_the_answer(string text, int stopIndex)
    {
        var stop = StopStrings.After(Tok, [PromptSpec.AnswerEnd]);
        var ids = ByteTokenizer.EncodeBytes(text);
        int fired = -1;
        for (int i = 0; i < ids.Length && fired < 0; i++)
            if (stop(0, ids[..(i + 1)])) fired = i;
        Assert.Equal(stopIndex, fired);
    }

    [Fact]
    public void Nothing_follows_the_closing_answer_tag_in_a_completion()
    {
        using var model = NewModel();
        var rows = ModelEvaluator.Generate(model, Tok, Task, Items, Sampled with { MaxNewTokens = 24 });
        Assert.All(rows, r =>
        {
            int end = r.Completion.IndexOf(PromptSpec.AnswerEnd, StringComparison.Ordinal);
            Assert.True(end < 0 || end + PromptSpec.AnswerEnd.Length == r.Completion.Length, r.Completion);
        });
    }

    [Fact]
    public void A_saved_checkpoint_loads_from_its_run_folder_or_its_own_folder_and_evaluates_identically()
    {
        using var run = new TempDirectory();
        using var model = NewModel();
        var folder = Checkpoint.Save(run.Path, Checkpoint.StepName(3), model, model.Config, ByteTokenizer.Default);
        var expected = ModelEvaluator.Evaluate(model, Tok, Task, Items, Sampled);
        foreach (var path in new[] { run.Path, folder })
        {
            var checkpoint = ModelLoader.Open(path);
            Assert.Equal(folder, checkpoint.Directory);
            using var loaded = ModelLoader.Load(checkpoint);
            Assert.Equal(Texts(expected), Texts(ModelEvaluator.Evaluate(loaded, checkpoint.Tokenizer, Task, Items, Sampled)));
        }
        Assert.Throws<FileNotFoundException>(() => ModelLoader.Open(Directory.CreateDirectory(run["empty"]).FullName));
    }

    [Fact]
    public void Correctness_is_counted_from_the_completions_whatever_the_model()
    {
        using var model = NewModel();
        var rows = ModelEvaluator.Generate(model, Tok, Task, Items, Sampled);
        // Replace the random model's text with known answers: problem 0 right 4/4, problem 1 right 1/4 (sample 2), problem 2 never.
        string Known(CompletionRow row, int index)
        {
            int problem = index / 4, sample = index % 4;
            bool right = problem == 0 || (problem == 1 && sample == 2);
            return $"<think>…</think> <answer>{(right ? row.Answer : row.Answer + "1")}</answer>";
        }
        var known = rows.Select((r, i) => r with { Completion = Known(r, i) }).ToList();
        var report = Scorer.Score(Task, known, [1, 2, 4]);
        Assert.Equal([4, 1, 0], report.Problems.Select(p => p.Correct));
        Assert.Equal((1.0 + 0.25 + 0) / 3, report.Summary.Accuracy, precision: 12);
        Assert.Equal((1.0 + PassAtK.Estimate(4, 1, 2) + 0) / 3, report.Summary.PassAtK[2], precision: 12);
        Assert.Equal(2.0 / 3, report.Summary.PassAtK[4], precision: 12);
        Assert.Equal(1.0 / 3, report.Summary.MajAtK[4], precision: 12); // problem 1's lone right answer is outvoted
        Assert.Equal(rows.Average(r => (double)r.Tokens!.Value), report.Summary.MeanCompletionTokens);
    }

    [Fact]
    public void Problems_are_distinct_held_out_and_in_task_order()
    {
        var problems = ModelEvaluator.Problems(Task, 50);
        Assert.Equal(50, problems.Select(p => p.Prompt).Distinct().Count());
        Assert.All(problems, p => Assert.Equal(TaskSplit.Test, SplitRule.Of(ArithmeticTask.CanonicalText(p))));
        Assert.Equal(Task.Items(TaskSplit.Test).Take(3).Select(p => p.Id), ModelEvaluator.Problems(Task, 3).Select(p => p.Id));
    }

    [Fact]
    public void Bad_options_and_duplicate_ids_are_refused_with_the_fix()
    {
        using var model = NewModel();
        Assert.Contains("k = 8", Assert.Throws<ArgumentException>(() => ModelEvaluator.Evaluate(model, Tok, Task, Items, Sampled with { Ks = [8] })).Message);
        Assert.Contains("BatchSize", Assert.Throws<ArgumentException>(() => ModelEvaluator.Evaluate(model, Tok, Task, Items, Greedy with { BatchSize = 0 })).Message);
        Assert.Contains("appears 2 times", Assert.Throws<ArgumentException>(() => ModelEvaluator.Evaluate(model, Tok, Task, [Items[0], Items[0]], Greedy)).Message);
    }

    [Fact]
    public void Live_tensor_count_is_the_same_before_and_after_an_evaluation()
    {
        using var model = NewModel();
        ModelEvaluator.Evaluate(model, Tok, Task, Items, Sampled); // warm-up: lazily built rotary tables are not leaks
        LiveTensors.Settle();
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        ModelEvaluator.Evaluate(model, Tok, Task, Items, Sampled);
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
