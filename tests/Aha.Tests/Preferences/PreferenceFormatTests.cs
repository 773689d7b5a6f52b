using System.Text.Json.Serialization;
using Aha.Data;
using Aha.Preferences;
using Aha.Tokenizer;
using Parquet.Serialization;
using Xunit;

namespace Aha.Tests.Preferences;

/// <summary>Every preference format users have, from hand-written rows; bad rows named by file:line and field.</summary>
public class PreferenceFormatTests
{
    public static readonly TheoryData<string, string, PreferenceFormat, string?, string, string, string, double?> Rows = new()
    {
        // name, row, detected format, prompt text (null: a conversation), prompt as written, chosen, rejected, margin
        { "trl standard", """{"prompt":"1+1=","chosen":"2","rejected":"3"}""", PreferenceFormat.Standard, "1+1=", "1+1=", "2", "3", null },
        { "trl standard with binarized scores", """{"prompt":"q","chosen":"a","rejected":"b","score_chosen":8.5,"score_rejected":6}""", PreferenceFormat.Standard, "q", "q", "a", "b", 2.5 },
        { "trl conversational, explicit prompt",
          """{"prompt":[{"role":"user","content":"hi"}],"chosen":[{"role":"assistant","content":"hello"}],"rejected":[{"role":"assistant","content":"go away"}]}""",
          PreferenceFormat.Conversational, null, "user:hi", "hello", "go away", null },
        { "trl conversational, implicit prompt",
          """{"chosen":[{"role":"system","content":"s"},{"role":"user","content":"2+2?"},{"role":"assistant","content":"4"}],"rejected":[{"role":"system","content":"s"},{"role":"user","content":"2+2?"},{"role":"assistant","content":"5"}]}""",
          PreferenceFormat.Conversational, null, "system:s|user:2+2?", "4", "5", null },
        { "ultrafeedback binarized (prompt string, full conversations, scores)",
          """{"prompt":"2+2?","chosen":[{"role":"user","content":"2+2?"},{"role":"assistant","content":"4"}],"rejected":[{"role":"user","content":"2+2?"},{"role":"assistant","content":"22"}],"score_chosen":9.0,"score_rejected":2.0}""",
          PreferenceFormat.Conversational, null, "user:2+2?", "4", "22", 7.0 },
        { "hh-rlhf", """{"chosen":"\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: 2+2?\n\nAssistant: 4","rejected":"\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: 2+2?\n\nAssistant: No idea"}""",
          PreferenceFormat.HhRlhf, "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: 2+2?\n\nAssistant:", "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: 2+2?\n\nAssistant:", " 4", " No idea", null },
        { "ultrafeedback, parallel ratings", """{"prompt":"p","completions":["ok","best","worst"],"ratings":[3,5,1]}""", PreferenceFormat.UltraFeedback, "p", "p", "best", "worst", 4.0 },
        { "ultrafeedback, scored objects", """{"instruction":"p","completions":[{"response":"a","overall_score":7},{"response":"b","overall_score":9.5}]}""",
          PreferenceFormat.UltraFeedback, "p", "p", "b", "a", 2.5 },
    };

    static string Write(TempDirectory dir, string name, params string[] lines)
    {
        var path = Path.Combine(dir.Path, name);
        File.WriteAllText(path, string.Join("\n", lines) + "\n");
        return path;
    }

    static string PromptOf(PreferencePair p) => p.PromptText ?? string.Join("|", p.PromptMessages!.Select(m => $"{m.Role}:{m.Content}"));

    [Theory]
    [MemberData(nameof(Rows))]
    public void Each_format_is_detected_and_parsed(string name, string row, PreferenceFormat format, string? promptText, string prompt, string chosen, string rejected, double? margin)
    {
        using var dir = new TempDirectory();
        var path = Write(dir, "prefs.jsonl", row);
        foreach (var given in new[] { PreferenceFormat.Auto, format })
        {
            var pairs = PreferenceData.Load(path, new PreferenceDataOptions { Format = given });
            var pair = Assert.Single(pairs);
            Assert.True((promptText, prompt, chosen, rejected, margin) == (pair.PromptText, PromptOf(pair), pair.Chosen, pair.Rejected, pair.Margin), $"{name} read as {given}: {pair}");
            Assert.Equal($"{path}:1", pair.Origin);
        }
    }

    [Fact]
    public void Ultrafeedback_all_pairs_are_every_two_with_different_scores_margin_the_difference()
    {
        using var dir = new TempDirectory();
        var path = Write(dir, "uf.jsonl", """{"prompt":"p","completions":["a","b","c","d"],"ratings":[1,3,3,6]}""");
        var pairs = PreferenceData.Load(path, new PreferenceDataOptions { Pairs = PreferencePairing.All });
        // 6 pairs less the tie b/c: (b,a) 2, (c,a) 2, (d,a) 5, (d,b) 3, (d,c) 3.
        Assert.Equal(["b>a:2", "c>a:2", "d>a:5", "d>b:3", "d>c:3"], pairs.Select(p => $"{p.Chosen}>{p.Rejected}:{p.Margin}").Order().ToArray());
        Assert.Equal("d>a:5", pairs.Select(p => $"{p.Chosen}>{p.Rejected}:{p.Margin}").Single(s => s.StartsWith('d') && s.Contains('a')));
        var best = Assert.Single(PreferenceData.Load(path));
        Assert.Equal(("d", "a", 5.0), (best.Chosen, best.Rejected, best.Margin!.Value));
        Assert.Empty(PreferenceData.Load(Write(dir, "tie.jsonl", """{"prompt":"p","completions":["a","b"],"ratings":[2,2]}""")));
    }

    public static readonly TheoryData<string, string, string> BadRows = new()
    {
        { "trl: rejected missing", """{"prompt":"a","chosen":"b"}""", "field \"rejected\" is missing" },
        { "trl: chosen a number", """{"prompt":"a","chosen":1,"rejected":"c"}""", "cannot tell the preference format" },
        { "conversational: bad role", """{"prompt":[{"role":"robot","content":"x"}],"chosen":[{"role":"assistant","content":"a"}],"rejected":[{"role":"assistant","content":"b"}]}""", "field \"prompt[0].role\" is \"robot\"" },
        { "conversational: two turns where one belongs", """{"prompt":[{"role":"user","content":"x"}],"chosen":[{"role":"assistant","content":"a"},{"role":"user","content":"more"}],"rejected":[{"role":"assistant","content":"b"}]}""", "field \"chosen\" holds 2 message(s)" },
        { "conversational: nothing shared", """{"chosen":[{"role":"user","content":"x"},{"role":"assistant","content":"a"}],"rejected":[{"role":"user","content":"y"},{"role":"assistant","content":"b"}]}""", "share no messages" },
        { "hh: no assistant turn", """{"chosen":"\n\nHuman: hi","rejected":"\n\nHuman: hi\n\nAssistant: x"}""", "field \"chosen\" has no \"\\n\\nAssistant:\" turn" },
        { "hh: different dialogues", """{"chosen":"\n\nHuman: hi\n\nAssistant: a","rejected":"\n\nHuman: yo\n\nAssistant: b"}""", "differ before their last" },
        { "ultrafeedback: ratings short", """{"prompt":"p","completions":["a","b","c"],"ratings":[1,2]}""", "field \"ratings\" has 2 scores for more completions" },
        { "ultrafeedback: no score", """{"prompt":"p","completions":[{"response":"a"},{"response":"b"}]}""", "field \"completions[0]\" has no numeric" },
        { "ultrafeedback: one completion", """{"prompt":"p","completions":["a"],"ratings":[1]}""", "a pair needs at least two" },
        { "not an object", """[1,2]""", "expected an object" },
    };

    [Theory]
    [MemberData(nameof(BadRows))]
    public void A_bad_row_is_named_by_file_line_and_field(string name, string row, string message)
    {
        using var dir = new TempDirectory();
        var path = Write(dir, "bad.jsonl", row);
        var e = Assert.Throws<InvalidDataException>(() => PreferenceData.Load(path));
        Assert.Contains($"{path}:1: ", e.Message);
        Assert.True(e.Message.Contains(message, StringComparison.Ordinal), $"{name}: {e.Message}");
    }

    [Fact]
    public void The_first_row_fixes_the_format_so_a_later_row_of_another_shape_is_a_bad_row()
    {
        using var dir = new TempDirectory();
        var path = Write(dir, "mixed.jsonl", """{"prompt":"a","chosen":"b","rejected":"c"}""", """{"chosen":"\n\nHuman: x\n\nAssistant: y","rejected":"\n\nHuman: x\n\nAssistant: z"}""");
        var report = new BadRowReport();
        Assert.Single(PreferenceData.Load(path, new PreferenceDataOptions(report)));
        Assert.Equal(1, report.Count);
        Assert.Contains($"{path}:2: field \"prompt\" is missing", report.FirstMessages[0]);
    }

    [Fact]
    public void Format_and_pairing_names_parse_and_unknown_ones_are_refused()
    {
        Assert.Equal(PreferenceFormat.HhRlhf, PreferenceData.ParseFormat("hh-rlhf"));
        Assert.Equal(PreferencePairing.All, PreferenceData.ParsePairing("all"));
        Assert.Contains("use auto, standard", Assert.Throws<ArgumentException>(() => PreferenceData.ParseFormat("csv")).Message);
    }

    // Column names as Hugging Face exports write them.
    sealed class Message
    {
        [JsonPropertyName("role")] public string Role { get; set; } = "";
        [JsonPropertyName("content")] public string Content { get; set; } = "";
    }

    sealed class ConversationRow
    {
        [JsonPropertyName("chosen")] public List<Message> Chosen { get; set; } = [];
        [JsonPropertyName("rejected")] public List<Message> Rejected { get; set; } = [];
    }

    sealed class TextRow
    {
        [JsonPropertyName("prompt")] public string? Prompt { get; set; }
        [JsonPropertyName("chosen")] public string? Chosen { get; set; }
        [JsonPropertyName("rejected")] public string? Rejected { get; set; }
    }

    [Fact]
    public async Task Parquet_rows_with_nested_messages_read_like_jsonl()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "prefs.parquet");
        static List<Message> Turns(string answer) => [new() { Role = "user", Content = "2+2?" }, new() { Role = "assistant", Content = answer }];
        await ParquetSerializer.SerializeAsync(new[] { new ConversationRow { Chosen = Turns("4"), Rejected = Turns("5") } }, path);
        var pair = Assert.Single(PreferenceData.Load(path));
        Assert.Equal(("user:2+2?", "4", "5"), (PromptOf(pair), pair.Chosen, pair.Rejected));
        Assert.Equal($"{path}:row 1", pair.Origin);
    }

    [Fact]
    public async Task A_bad_parquet_row_is_named_by_row_and_field()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "prefs.parquet");
        await ParquetSerializer.SerializeAsync(new[] { new TextRow { Prompt = "a", Chosen = "b", Rejected = "c" }, new TextRow { Prompt = "a", Chosen = "b", Rejected = null } }, path);
        var e = Assert.Throws<InvalidDataException>(() => PreferenceData.Load(path));
        Assert.True(e.Message.StartsWith($"{path}:row 2: field \"rejected\" is missing", StringComparison.Ordinal), e.Message);
    }
}
