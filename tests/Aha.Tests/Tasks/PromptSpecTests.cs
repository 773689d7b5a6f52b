using Aha.Tasks;
using Aha.Tasks.Arithmetic;
using Aha.Tests.Tokenizer;
using Aha.Tokenizer;

namespace Aha.Tests.Tasks;

/// <summary>
/// Pins the byte path of the one prompt spec that GRPO, eval, the GRPO bench and <c>aha tasks sample</c> share. Expected ids
/// are written by hand from the byte rules (bos 256, UTF-8 bytes, system 259, user 260, assistant 261, end 262), not from
/// the code, so any change to a byte model's prompts fails here.
/// </summary>
public class PromptSpecTests
{
    static readonly ITask Task = new ArithmeticTask();
    static readonly TaskItem Item = new("t1", "2+3", "5");
    static readonly ITokenizer Byte = ByteTokenizer.Default;

    static int[] Ascii(string text) => [.. text.Select(c => c < 128 ? c : throw new ArgumentException("ASCII only"))];

    [Fact]
    public void Short_is_bos_then_the_bytes_of_user_problem_newline_assistant()
    {
        var spec = PromptSpec.For(Byte, Task, Item, PromptStyle.Short);
        // "User: 2+3\nAssistant:"
        Assert.Equal([256, 85, 115, 101, 114, 58, 32, 50, 43, 51, 10, 65, 115, 115, 105, 115, 116, 97, 110, 116, 58], spec.Ids);
        Assert.Equal("User: 2+3\nAssistant:", spec.Text);
    }

    [Fact]
    public void R1zero_is_bos_then_the_papers_system_text_and_the_problem_with_a_full_stop()
    {
        var spec = PromptSpec.For(Byte, Task, Item, PromptStyle.R1Zero);
        string text = Prompts.R1ZeroSystem + " User: 2+3. Assistant:";
        Assert.Equal([256, .. Ascii(text)], spec.Ids);
        Assert.Equal(text, spec.Text);
    }

    [Fact]
    public void Chat_is_the_tokenizers_template_with_role_tokens_around_the_system_and_user_messages()
    {
        var spec = PromptSpec.For(Byte, Task, Item, PromptStyle.Chat);
        Assert.Equal([256, 259, .. Ascii(Prompts.R1ZeroSystem), 262, 260, 50, 43, 51, 262, 261], spec.Ids);
        Assert.Equal($"<|system|>{Prompts.R1ZeroSystem}<|end|><|user|>2+3<|end|><|assistant|>", spec.Text);
    }

    [Fact]
    public void A_problem_beyond_ascii_is_its_utf8_bytes()
    {
        var spec = PromptSpec.For(Byte, Task, Item with { Prompt = "½·π" }, PromptStyle.Short);
        // ½ = C2 BD, · = C2 B7, π = CF 80
        Assert.Equal([0xC2, 0xBD, 0xC2, 0xB7, 0xCF, 0x80], spec.Ids[7..13]);
    }

    [Theory]
    [InlineData(PromptStyle.Short)]
    [InlineData(PromptStyle.R1Zero)]
    [InlineData(PromptStyle.Chat)]
    public void Completions_stop_at_end_of_text_or_end_of_turn_or_after_the_answer_tag(PromptStyle style)
    {
        var spec = PromptSpec.For(Byte, Task, Item, style);
        Assert.Equal([257, 262], spec.StopIds);
        Assert.Equal(["</answer>"], spec.StopStrings);
    }

    [Fact]
    public void A_tokenizer_without_bos_gets_no_bos_and_its_own_stops_and_template()
    {
        var tokenizer = new NoBosTokenizer();
        var shortSpec = PromptSpec.For(tokenizer, Task, Item, PromptStyle.Short);
        Assert.Equal(Ascii("User: 2+3\nAssistant:"), shortSpec.Ids);
        Assert.Equal([NoBosTokenizer.Eos, NoBosTokenizer.EndOfTurn], shortSpec.StopIds);
        var chat = PromptSpec.For(tokenizer, Task, Item, PromptStyle.Chat);
        Assert.Equal($"system:{Prompts.R1ZeroSystem}|user:2+3|assistant:", chat.Text);
    }

    [Fact]
    public void The_seed_of_a_sample_is_seed_plus_step_times_1000003_plus_prompt_times_1009_plus_sample()
    {
        Assert.Equal(42 + 3_000_009 + 2_018 + 5, PromptSpec.SampleSeed(42, step: 3, prompt: 2, sample: 5));
        Assert.Equal(7 + 1_009 * 4 + 3, PromptSpec.SampleSeed(7, step: 0, prompt: 4, sample: 3)); // eval: step 0
        Assert.Equal(1_009, Aha.Eval.EvalOptions.ProblemSeedStride);
    }

    [Fact]
    public void The_chat_style_has_no_text_of_its_own()
    {
        var e = Assert.Throws<ArgumentException>(() => Prompts.Render("2+3", PromptStyle.Chat));
        Assert.Contains("chat template", e.Message);
    }
}
