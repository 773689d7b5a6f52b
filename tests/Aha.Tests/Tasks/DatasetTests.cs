using Aha.Tasks;
using Aha.Tasks.Datasets;
using Parquet.Serialization;

namespace Aha.Tests.Tasks;

public sealed class DatasetTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("aha-datasets-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Write(string name, params string[] lines)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    [Fact]
    public void Gsm8k_rows_give_the_question_and_the_number_after_hashes()
    {
        var path = Write("gsm8k.jsonl",
            """{"question": "Natalia sold 48 clips in April and half as many in May. How many in total?", "answer": "In May 48/2 = 24.\nTotal 48+24 = 72.\n#### 72"}""",
            "",
            """{"question": "Big?", "answer": "#### 1,234"}""");
        var task = DatasetTask.Load("gsm8k", path, new DatasetOptions { Format = DatasetFormat.Gsm8k });
        var items = task.Items().ToList();
        Assert.Equal(2, items.Count);
        Assert.Equal("72", items[0].Answer);
        Assert.Equal("In May 48/2 = 24.\nTotal 48+24 = 72.", items[0].Solution);
        Assert.Equal("gsm8k.jsonl:1", items[0].Id);
        Assert.True(task.Verify("<answer>1234</answer>", items[1]).Correct);
    }

    [Fact]
    public void Math_rows_give_the_last_boxed_answer_of_the_solution()
    {
        var path = Write("math.jsonl",
            """{"id": "algebra/1", "problem": "Half of one?", "solution": "It is $\\boxed{\\frac{1}{2}}$."}""");
        var item = DatasetTask.Load("math", path, new DatasetOptions { Format = DatasetFormat.Math }).Items().Single();
        Assert.Equal(("algebra/1", "\\frac{1}{2}"), (item.Id, item.Answer));
    }

    [Fact]
    public void Field_names_can_be_mapped_and_numbers_may_be_json_numbers()
    {
        var path = Write("custom.jsonl", """{"q": "2+2?", "gold": 4}""");
        var item = DatasetTask.Load("jsonl", path, new DatasetOptions { PromptField = "q", AnswerField = "gold" }).Items().Single();
        Assert.Equal(("2+2?", "4"), (item.Prompt, item.Answer));
    }

    [Theory]
    [InlineData("{\"question\": \"q\"", null, "not valid JSON")]
    [InlineData("[1, 2]", null, "not a JSON object")]
    [InlineData("{\"answer\": \"#### 5\"}", "question", "missing")]
    [InlineData("{\"question\": \"q\", \"answer\": \"five\"}", "answer", "no '#### <answer>' line")]
    [InlineData("{\"question\": \"q\", \"answer\": \"#### five\"}", "answer", "not a number")]
    [InlineData("{\"question\": \"\", \"answer\": \"#### 5\"}", "question", "empty")]
    public void A_bad_row_is_an_error_naming_file_line_and_field(string badLine, string? field, string problem)
    {
        var path = Write("bad.jsonl", """{"question": "ok", "answer": "#### 1"}""", badLine);
        var e = Assert.Throws<BadRowException>(() => DatasetTask.Load("gsm8k", path, new DatasetOptions { Format = DatasetFormat.Gsm8k }));
        Assert.Equal("bad.jsonl:2", e.Location);
        Assert.Equal(field, e.Field);
        Assert.Contains(problem, e.Message);
        Assert.Contains("--skip-bad-rows", e.Message);
    }

    [Fact]
    public void Skipping_bad_rows_counts_them()
    {
        var path = Write("mixed.jsonl", """{"prompt": "a", "answer": "1"}""", "garbage", """{"prompt": "b"}""", """{"prompt": "c", "answer": "3"}""");
        var task = DatasetTask.Load("jsonl", path, new DatasetOptions { SkipBadRows = true });
        Assert.Equal(2, task.Count);
        Assert.Equal(2, task.Skipped);
        Assert.StartsWith("mixed.jsonl:2", task.Problems[0]);
        Assert.StartsWith("mixed.jsonl:3: field 'answer'", task.Problems[1]);
    }

    [Fact]
    public void A_missing_file_says_so() =>
        Assert.Throws<FileNotFoundException>(() => DatasetTask.Load("jsonl", Path.Combine(_dir, "none.jsonl"), new DatasetOptions()));

    public sealed class Row
    {
        // Hugging Face exports use lowercase column names.
        [System.Text.Json.Serialization.JsonPropertyName("question")] public string Question { get; set; } = "";
        [System.Text.Json.Serialization.JsonPropertyName("answer")] public string Answer { get; set; } = "";
    }

    [Fact]
    public async Task Parquet_exports_read_like_jsonl()
    {
        var path = Path.Combine(_dir, "train.parquet");
        await ParquetSerializer.SerializeAsync(new[] { new Row { Question = "1+1?", Answer = "so\n#### 2" }, new Row { Question = "2+2?", Answer = "#### 4" } }, path);
        var task = DatasetTask.Load("gsm8k", path, new DatasetOptions { Format = DatasetFormat.Gsm8k });
        Assert.Equal(["2", "4"], task.Items().Select(i => i.Answer));
        Assert.Equal(("train.parquet:2", "2+2?"), (task.Items().Last().Id, task.Items().Last().Prompt));
    }

    [Fact]
    public void Dataset_splits_are_disjoint_and_cover_the_file()
    {
        var lines = Enumerable.Range(0, 200).Select(i => $$"""{"prompt": "problem {{i}}", "answer": "{{i}}"}""").ToArray();
        var task = DatasetTask.Load("jsonl", Write("many.jsonl", lines), new DatasetOptions());
        var train = task.Items(TaskSplit.Train).Select(i => i.Id).ToHashSet();
        var test = task.Items(TaskSplit.Test).Select(i => i.Id).ToHashSet();
        Assert.Empty(train.Intersect(test));
        Assert.Equal(200, train.Count + test.Count);
    }
}
