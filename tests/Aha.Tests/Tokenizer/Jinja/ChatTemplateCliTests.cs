using System.Text.Json;
using System.Text.Json.Nodes;
using Aha.Tests.Training;

namespace Aha.Tests.Tokenizer.Jinja;

/// <summary>
/// `aha chat-template` loads a model folder's tokenizer (a real published tokenizer.json beside a tokenizer_config.json
/// written here) and prints what Jinja2 renders (golden file).
/// </summary>
public class ChatTemplateCliTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    static JsonElement Golden(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Tokenizer", "Golden", "chat_templates.json")));
        return doc.RootElement.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name).Clone();
    }

    static string Template(string file) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Tokenizer", "Templates", file));

    static void CopyTokenizerJson(string fixture, TempDirectory dir) =>
        File.Copy(Path.Combine(TokenizerFixtures.Folder(fixture), "tokenizer.json"), dir["tokenizer.json"]);

    // The test harness reads stdout line by line, so a final newline is indistinguishable from none.
    static string AsLines(string text) => text.EndsWith('\n') ? text : text + "\n";

    [Fact]
    public void It_prints_a_qwen3_prompt_with_thinking_off_exactly_as_jinja2()
    {
        using var dir = new TempDirectory();
        var golden = Golden("qwen3/system_user/gen/thinking_false");
        CopyTokenizerJson("qwen3", dir);
        File.WriteAllText(dir["tokenizer_config.json"], new JsonObject
        {
            ["bos_token"] = null,
            ["eos_token"] = new JsonObject { ["__type"] = "AddedToken", ["content"] = "<|im_end|>" },
            ["pad_token"] = "<|endoftext|>",
            ["chat_template"] = Template("qwen3.jinja"),
        }.ToJsonString());
        File.WriteAllText(dir["messages.json"], golden.GetProperty("messages").GetRawText());

        int code = CliProcess.Run(Timeout, out var stdout, out var stderr,
            "chat-template", "--model", dir.Path, "--messages", dir["messages.json"], "--enable-thinking", "false");
        Assert.True(code == 0, stderr);
        Assert.Equal(AsLines(golden.GetProperty("expected").GetString()!), stdout);
    }

    [Fact]
    public void It_takes_the_default_of_a_template_list_and_honours_no_generation_prompt()
    {
        using var dir = new TempDirectory();
        var golden = Golden("deepseek-r1-distill-qwen/think_in_history/nogen");
        CopyTokenizerJson("deepseek_v3", dir);
        File.WriteAllText(dir["tokenizer_config.json"], new JsonObject
        {
            ["bos_token"] = new JsonObject { ["__type"] = "AddedToken", ["content"] = "<｜begin▁of▁sentence｜>" },
            ["eos_token"] = new JsonObject { ["__type"] = "AddedToken", ["content"] = "<｜end▁of▁sentence｜>" },
            ["chat_template"] = new JsonArray(
                new JsonObject { ["name"] = "tool_use", ["template"] = "{{ raise_exception('not this one') }}" },
                new JsonObject { ["name"] = "default", ["template"] = Template("deepseek-r1-distill-qwen.jinja") }),
        }.ToJsonString());
        File.WriteAllText(dir["messages.json"], golden.GetProperty("messages").GetRawText());

        int code = CliProcess.Run(Timeout, out var stdout, out var stderr,
            "chat-template", "--model", dir.Path, "--messages", dir["messages.json"], "--no-generation-prompt");
        Assert.True(code == 0, stderr);
        Assert.Equal(AsLines(golden.GetProperty("expected").GetString()!), stdout);
    }

    [Fact]
    public void A_bad_message_is_refused_naming_the_file_and_the_element()
    {
        using var dir = new TempDirectory();
        CopyTokenizerJson("qwen3", dir);
        File.WriteAllText(dir["tokenizer_config.json"], new JsonObject { ["chat_template"] = "{{ messages[0].content }}" }.ToJsonString());
        File.WriteAllText(dir["messages.json"], """[{"role": "user", "content": "ok"}, {"role": "user", "content": 3}]""");

        int code = CliProcess.Run(Timeout, out _, out var stderr, "chat-template", "--model", dir.Path, "--messages", dir["messages.json"]);
        Assert.Equal(1, code);
        Assert.Contains($"{dir["messages.json"]}: element 1: \"content\" must be a string", stderr);
    }
}
