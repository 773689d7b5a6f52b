using Aha.Eval;
using Aha.Tasks;
using Aha.Tasks.Arithmetic;
using Aha.Tasks.Countdown;
using Aha.Tasks.Datasets;

namespace Aha.Tests.Eval;

public sealed class ScorerTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("aha-scorer-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static CompletionRow Row(string id, string gold, string completion, int? tokens = null) => new(id, gold, completion) { Tokens = tokens };

    static readonly CompletionRow[] Rows =
    [
        Row("a", "5", "<answer>5</answer>", 10), Row("a", "5", "<answer>5.0</answer>", 20),
        Row("a", "5", "<answer>6</answer>", 30), Row("a", "5", "nothing", 40),
        Row("b", "7", "<answer>6</answer>", 10), Row("b", "7", "<answer>6</answer>", 10),
        Row("b", "7", "<answer>7</answer>", 10), Row("b", "7", "<answer>8</answer>", 10),
    ];

    [Fact]
    public void Rows_sharing_an_id_are_samples_of_one_problem()
    {
        var report = Scorer.Score(new ArithmeticTask(), Rows, [1, 2, 4]);
        Assert.Equal(2, report.Summary.Problems);
        Assert.Equal(8, report.Summary.Samples);
        Assert.Equal((2.0 / 4 + 1.0 / 4) / 2, report.Summary.Accuracy, precision: 12);
        Assert.Equal(report.Summary.Accuracy, report.Summary.PassAtK[1], precision: 12);
        Assert.Equal((PassAtK.Estimate(4, 2, 2) + PassAtK.Estimate(4, 1, 2)) / 2, report.Summary.PassAtK[2], precision: 12);
        Assert.Equal(1.0, report.Summary.PassAtK[4]);
        // a: 5 and 5.0 are one ballot → majority right; b: 6 wins → wrong.
        Assert.Equal(0.5, report.Summary.MajAtK[4]);
        Assert.Equal("5", report.Problems[0].MajorityAnswer);
        Assert.Equal(17.5, report.Summary.MeanCompletionTokens);
        Assert.Equal(1.0 / 8, report.Summary.NoAnswerShare);
        Assert.Equal([1f, 1f, 0f, 0f], report.Samples.Take(4).Select(s => s.Reward));
    }

    [Fact]
    public void Default_ks_are_powers_of_two_up_to_the_samples()
    {
        Assert.Equal([1, 2, 4, 8], Scorer.DefaultKs(8));
        Assert.Equal([1, 2, 4, 5], Scorer.DefaultKs(5));
        Assert.Equal([1], Scorer.DefaultKs(1));
    }

    [Fact]
    public void A_k_above_the_samples_is_refused_with_the_problem_named()
    {
        var e = Assert.Throws<ArgumentException>(() => Scorer.Score(new ArithmeticTask(), Rows, [8]));
        Assert.Contains("k = 8", e.Message);
    }

    [Fact]
    public void Two_golds_for_one_id_are_refused() =>
        Assert.Throws<ArgumentException>(() => Scorer.Score(new ArithmeticTask(), [Row("a", "1", ""), Row("a", "2", "")]));

    [Fact]
    public void Reports_are_written_and_read_back()
    {
        var report = Scorer.Score(new ArithmeticTask(), Rows);
        ReportFiles.Write(_dir, report);
        Assert.Equal(8, File.ReadAllLines(Path.Combine(_dir, "samples.jsonl")).Length);
        Assert.Contains("\"extracted\":\"5.0\"", File.ReadAllLines(Path.Combine(_dir, "samples.jsonl"))[1]);
        Assert.Equal(2, File.ReadAllLines(Path.Combine(_dir, "problems.jsonl")).Length);
        var summary = ReportFiles.ReadSummary(Path.Combine(_dir, "summary.json"));
        Assert.Equal(report.Summary.PassAtK[4], summary.PassAtK[4]);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    [Fact]
    public void Completions_files_check_fields_and_gold_with_file_and_line()
    {
        var path = Path.Combine(_dir, "c.jsonl");
        File.WriteAllLines(path, [
            """{"id": 1, "answer": "3 4 5 -> 17", "completion": "<answer>3 * 4 + 5</answer>"}""",
            """{"id": 2, "answer": "17", "completion": "x"}""",
            """{"id": 3, "answer": "3 4 5 -> 17"}""",
            """{"id": 4, "answer": "3 4 5 -> 17", "completion": ""}""",
        ]);
        var task = new CountdownTask();
        var e = Assert.Throws<BadRowException>(() => CompletionsFile.Read(path, task, skipBadRows: false));
        Assert.Equal(("c.jsonl:2", "answer"), (e.Location, e.Field));
        var rows = CompletionsFile.Read(path, task, skipBadRows: true);
        Assert.Equal(2, rows.Skipped);
        var report = Scorer.Score(task, rows.Items, skippedRows: rows.Skipped);
        Assert.Equal(0.5, report.Summary.Accuracy);
        Assert.Equal(2, report.Summary.SkippedRows);
    }

    [Fact]
    public void Comparison_puts_two_runs_side_by_side()
    {
        var task = new ArithmeticTask();
        var a = Scorer.Score(task, Rows, [1, 4]);
        var b = Scorer.Score(task, Rows.Select(r => r with { Completion = "<answer>7</answer>" }).ToList(), [1, 4]);
        var table = ReportTables.Compare(a, b, "base", "grpo");
        Assert.Contains("base", table);
        Assert.Contains("pass@4", table);
        Assert.Matches(@"grpo better\s+1", table);
        Assert.Matches(@"base better\s+1", table);
        Assert.Throws<ArgumentException>(() => ReportTables.Compare(a, Scorer.Score(task, [Row("z", "1", "1")]), "a", "b"));
    }

    [Fact]
    public void The_summary_table_lists_every_metric()
    {
        var table = ReportTables.Summary(Scorer.Score(new ArithmeticTask(), Rows, [1, 2]).Summary);
        foreach (var metric in new[] { "accuracy", "pass@1", "pass@2", "maj@2", "mean length (tokens)" }) Assert.Contains(metric, table);
    }

    [Fact]
    public void Sampling_defaults_follow_the_R1_protocol()
    {
        Assert.Equal(0.0, SamplingSettings.For(1).Temperature);
        Assert.Equal((0.6, 0.95), (SamplingSettings.For(16).Temperature, SamplingSettings.For(16).TopP));
    }
}
