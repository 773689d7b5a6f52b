using System.Text;
using Aha.Data;
using Aha.Tokenizer;

namespace Aha.Tests.Data;

public class JsonlReaderTests
{
    static string Write(TempDirectory dir, string content, string name = "data.jsonl")
    {
        File.WriteAllText(dir[name], content, new UTF8Encoding(false));
        return dir[name];
    }

    [Fact]
    public void Texts_stream_row_by_row_skipping_blank_lines_and_ignoring_other_fields()
    {
        using var dir = new TempDirectory();
        string path = Write(dir, "\uFEFF{\"text\":\"a\"}\r\n\n   \n{\"text\":\"日本 😀\",\"id\":3}\n{\"text\":\"\"}");
        Assert.Equal(["a", "日本 😀", ""], JsonlReader.ReadTexts(path));
    }

    [Fact]
    public void Prompt_completion_rows_read_both_fields()
    {
        using var dir = new TempDirectory();
        string path = Write(dir, "{\"prompt\":\"2+2=\",\"completion\":\"4\"}\n");
        Assert.Equal([new PromptCompletion("2+2=", "4")], JsonlReader.ReadPromptCompletions(path));
    }

    [Fact]
    public void Conversation_rows_read_messages_in_order()
    {
        using var dir = new TempDirectory();
        string path = Write(dir, """{"messages":[{"role":"system","content":"s"},{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}""");
        var conversation = Assert.Single(JsonlReader.ReadConversations(path));
        Assert.Equal([new ChatMessage("system", "s"), new ChatMessage("user", "q"), new ChatMessage("assistant", "a")], conversation);
    }

    public static TheoryData<string, string, string> BadRows => new()
    {
        { "text", "{\"txt\":\"a\"}", "data.jsonl:2: field \"text\" is missing" },
        { "text", "{\"text\":5}", "data.jsonl:2: field \"text\" is a number, expected a string" },
        { "text", "{\"text\":null}", "data.jsonl:2: field \"text\" is null, expected a string" },
        { "text", "[\"a\"]", "data.jsonl:2: the row is an array, expected an object" },
        { "text", "{\"text\": \"a\"", "data.jsonl:2: not valid JSON" },
        { "text", "{\"text\":\"a\"} x", "data.jsonl:2: not valid JSON" },
        { "prompt", "{\"prompt\":\"a\"}", "data.jsonl:2: field \"completion\" is missing" },
        { "prompt", "{\"prompt\":[],\"completion\":\"b\"}", "data.jsonl:2: field \"prompt\" is an array, expected a string" },
        { "messages", "{\"msgs\":[]}", "data.jsonl:2: field \"messages\" is missing" },
        { "messages", "{\"messages\":\"hi\"}", "data.jsonl:2: field \"messages\" is a string, expected an array" },
        { "messages", "{\"messages\":[]}", "data.jsonl:2: field \"messages\" is empty" },
        { "messages", "{\"messages\":[\"hi\"]}", "data.jsonl:2: field \"messages[0]\" is a string, expected an object" },
        { "messages", "{\"messages\":[{\"role\":\"bot\",\"content\":\"x\"}]}", "data.jsonl:2: field \"messages[0].role\" is \"bot\", expected system, user, assistant" },
        { "messages", "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\"}]}", "data.jsonl:2: field \"messages[1].content\" is missing" },
        { "messages", "{\"messages\":[{\"role\":\"user\",\"content\":1}]}", "data.jsonl:2: field \"messages[0].content\" is a number, expected a string" },
        { "messages", "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}", "data.jsonl:2: field \"messages\" has no assistant message" },
    };

    static IEnumerable<object> ReadAll(string kind, string path, BadRowReport? report = null) => kind switch
    {
        "text" => JsonlReader.ReadTexts(path, report),
        "prompt" => JsonlReader.ReadPromptCompletions(path, report),
        _ => JsonlReader.ReadConversations(path, report),
    };

    static string GoodRow(string kind) => kind switch
    {
        "text" => "{\"text\":\"ok\"}",
        "prompt" => "{\"prompt\":\"p\",\"completion\":\"c\"}",
        _ => "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":\"a\"}]}",
    };

    [Theory]
    [MemberData(nameof(BadRows))]
    public void A_bad_row_throws_naming_file_line_field_and_problem(string kind, string row, string message)
    {
        using var dir = new TempDirectory();
        string path = Write(dir, GoodRow(kind) + "\n" + row + "\n" + GoodRow(kind) + "\n");
        var e = Assert.Throws<InvalidDataException>(() => ReadAll(kind, path).ToList());
        Assert.Contains(Path.Combine(dir.Path, message), e.Message);
    }

    [Theory]
    [MemberData(nameof(BadRows))]
    public void With_skip_bad_rows_a_bad_row_is_counted_and_the_good_rows_still_read(string kind, string row, string message)
    {
        using var dir = new TempDirectory();
        string path = Write(dir, GoodRow(kind) + "\n" + row + "\n" + GoodRow(kind) + "\n");
        var report = new BadRowReport();
        Assert.Equal(2, ReadAll(kind, path, report).Count());
        Assert.Equal(1, report.Count);
        Assert.Contains(message, Assert.Single(report.FirstMessages));
    }

    [Fact]
    public void Invalid_utf8_is_a_bad_row_at_its_own_line()
    {
        using var dir = new TempDirectory();
        var bytes = Encoding.UTF8.GetBytes("{\"text\":\"a\"}\n\n{\"text\":\"").Concat(new byte[] { 0xFF, 0xFE }).Concat("\"}\n"u8.ToArray()).ToArray();
        File.WriteAllBytes(dir["data.jsonl"], bytes);
        var e = Assert.Throws<InvalidDataException>(() => JsonlReader.ReadTexts(dir["data.jsonl"]).ToList());
        Assert.Contains("data.jsonl:3: the line is not valid UTF-8", e.Message);
    }

    [Fact]
    public void The_report_keeps_only_the_first_messages_but_counts_all()
    {
        using var dir = new TempDirectory();
        string path = Write(dir, string.Concat(Enumerable.Range(0, 9).Select(i => $"{{\"bad\":{i}}}\n")) + "{\"text\":\"x\"}\n");
        var report = new BadRowReport(keepMessages: 3);
        Assert.Equal(["x"], JsonlReader.ReadTexts(path, report));
        Assert.Equal(9, report.Count);
        Assert.Equal(3, report.FirstMessages.Count);
        Assert.StartsWith("skipped 9 bad rows; first:", report.ToString());
    }

    [Fact]
    public void Reading_is_lazy_so_a_bad_row_far_ahead_does_not_stop_the_first_rows()
    {
        using var dir = new TempDirectory();
        string path = Write(dir, "{\"text\":\"a\"}\n{\"text\":\"b\"}\nnot json\n");
        Assert.Equal(["a", "b"], JsonlReader.ReadTexts(path).Take(2));
    }

    [Fact]
    public void Long_lines_across_read_buffers_are_read_whole()
    {
        using var dir = new TempDirectory();
        string big = new('x', 200_000);
        string path = Write(dir, $"{{\"text\":\"{big}\"}}\n{{\"text\":\"y\"}}");
        Assert.Equal([big, "y"], JsonlReader.ReadTexts(path));
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        var e = Assert.Throws<FileNotFoundException>(() => JsonlReader.ReadTexts("/nonexistent/data.jsonl").ToList());
        Assert.Contains("/nonexistent/data.jsonl", e.Message);
    }
}
