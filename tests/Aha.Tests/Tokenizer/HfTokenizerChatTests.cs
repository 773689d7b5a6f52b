using System.Text;
using System.Text.Json;
using Aha.Tests.Training;
using Aha.Tokenizer;

namespace Aha.Tests.Tokenizer;

/// <summary>
/// EncodeChatForTraining's prefix bookkeeping, with ChatML written out in C# in place of the Jinja renderer (which lives
/// on its own branch and has its own tests), ids from the Rust tokenizer; and <c>aha tokenize</c> end to end.
/// </summary>
public class HfTokenizerChatTests
{
    // Qwen2.5's ChatML: each message "<|im_start|>{role}\n{content}<|im_end|>\n", then the open assistant header.
    static string ChatMl(IReadOnlyList<ChatMessage> messages, ChatOptions options, bool dropEarlierThinking = false)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < messages.Count; i++)
        {
            var content = messages[i].Content;
            // Like Qwen3: <think> blocks of assistant turns before the last are dropped.
            if (dropEarlierThinking && messages[i].Role == "assistant" && i < messages.Count - 1 && content.Contains("</think>"))
                content = content[(content.IndexOf("</think>", StringComparison.Ordinal) + "</think>".Length)..].TrimStart('\n');
            sb.Append($"<|im_start|>{messages[i].Role}\n{content}<|im_end|>\n");
        }
        if (options.AddGenerationPrompt) sb.Append("<|im_start|>assistant\n");
        return sb.ToString();
    }

    static HfTokenizer Qwen(bool dropEarlierThinking = false)
    {
        var tokenizer = HfTokenizer.Load(TokenizerFixtures.Folder("qwen3"));
        tokenizer.Renderer = (_, _, messages, options, _) => ChatMl(messages, options, dropEarlierThinking);
        return tokenizer;
    }

    static int[] RustIds(string text, string name = "qwen3")
    {
        using var rust = new Tokenizers.DotNet.Tokenizer(Path.Combine(TokenizerFixtures.Folder(name), "tokenizer.json"));
        return text.Length == 0 ? [] : [.. rust.Encode(text).Select(id => (int)id)];
    }

    [Fact]
    public void Training_ids_mark_each_assistant_turn_and_its_end_of_turn_only()
    {
        ChatMessage[] messages =
        [
            new("system", "You are terse."), new("user", "2+2?"), new("assistant", "4"),
            new("user", "And 3+3?"), new("assistant", "It is 6."),
        ];
        var (ids, mask) = Qwen().EncodeChatForTraining(messages);

        string prompt1 = "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n";
        string turn1 = "4<|im_end|>";
        string prompt2 = "\n<|im_start|>user\nAnd 3+3?<|im_end|>\n<|im_start|>assistant\n";
        string turn2 = "It is 6.<|im_end|>";
        // The newline after each <|im_end|> is template glue the model never generates (it stops at end of turn): not trained.
        int[] expected = [.. RustIds(prompt1), .. RustIds(turn1), .. RustIds(prompt2), .. RustIds(turn2), .. RustIds("\n")];
        bool[] expectedMask = [.. RustIds(prompt1).Select(_ => false), .. RustIds(turn1).Select(_ => true),
            .. RustIds(prompt2).Select(_ => false), .. RustIds(turn2).Select(_ => true), false];
        Assert.Equal(expected, ids);
        Assert.Equal(expectedMask, mask);
        // Here no token straddles a cut, so the ids are also those of the whole conversation tokenized at once.
        Assert.Equal(RustIds(prompt1 + turn1 + prompt2 + turn2 + "\n"), ids);
    }

    [Fact]
    public void A_template_that_rewrites_earlier_turns_trains_the_last_assistant_turn_in_the_context_it_renders_for_it()
    {
        ChatMessage[] messages =
        [
            new("user", "2+2?"), new("assistant", "<think>\nadd\n</think>\n\n4"), new("user", "3+3?"), new("assistant", "6"),
        ];
        var (ids, mask) = Qwen(dropEarlierThinking: true).EncodeChatForTraining(messages);
        // The earlier turn as the template renders it once later messages follow (its <think> block dropped), untrained.
        string context = "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n<|im_start|>user\n3+3?<|im_end|>\n<|im_start|>assistant\n";
        Assert.Equal([.. RustIds(context), .. RustIds("6<|im_end|>"), .. RustIds("\n")], ids);
        Assert.Equal([.. RustIds(context).Select(_ => false), true, true, false], mask);
    }

    [Fact]
    public void Encode_chat_tokenizes_the_rendering_without_adding_special_tokens()
    {
        ChatMessage[] messages = [new("user", "Hi <think>")];
        Assert.Equal(RustIds("<|im_start|>user\nHi <think><|im_end|>\n<|im_start|>assistant\n"), Qwen().EncodeChat(messages));
    }

    [Fact]
    public void Aha_tokenize_prints_ids_and_tokens_per_input_and_names_a_bad_row()
    {
        var folder = TokenizerFixtures.Folder("llama3");
        int code = CliProcess.Run(TimeSpan.FromMinutes(2), out var stdout, out var stderr, "tokenize", "--model", folder, "--text", "Hello world<|eot_id|>");
        Assert.True(code == 0, stderr);
        using (var doc = JsonDocument.Parse(stdout.Trim()))
        {
            Assert.Equal(RustIds("Hello world<|eot_id|>", "llama3"), doc.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));
            Assert.Equal(["Hello", "Ġworld", "<|eot_id|>"], doc.RootElement.GetProperty("tokens").EnumerateArray().Select(e => e.GetString()));
        }

        using var dir = new TempDirectory();
        File.WriteAllText(dir["in.jsonl"], "{\"text\": \"a\"}\n{\"text\": \"\"}\n{\"other\": 1}\n");
        code = CliProcess.Run(TimeSpan.FromMinutes(2), out stdout, out stderr, "tokenize", "--model", folder, "--file", dir["in.jsonl"]);
        Assert.Equal(1, code);
        Assert.Equal(2, stdout.Trim().Split('\n').Length); // the good rows before the bad one
        Assert.Contains("in.jsonl:3", stderr);
        Assert.Contains("'text'", stderr);
    }
}
