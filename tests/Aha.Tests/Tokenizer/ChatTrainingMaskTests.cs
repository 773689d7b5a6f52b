using Aha.Tokenizer;

namespace Aha.Tests.Tokenizer;

/// <summary>
/// EncodeChatForTraining with the real published chat templates (Jinja, as shipped in tokenizer_config.json): the ids and the
/// trained positions of one conversation written out by hand, tokenized by HF's Rust tokenizer.
/// </summary>
public class ChatTrainingMaskTests
{
    static readonly ChatMessage[] Conversation = [new("user", "What is 2+3?"), new("assistant", "5")];

    // Rust's Encode adds the post-processor's tokens: none for Qwen, <|begin_of_text|> for Llama 3.1.
    static int[] RustIds(string name, string text)
    {
        using var rust = new Tokenizers.DotNet.Tokenizer(Path.Combine(TokenizerFixtures.Folder(name), "tokenizer.json"));
        return [.. rust.Encode(text).Select(id => (int)id)];
    }

    [Fact]
    public void Qwen3_trains_the_empty_think_block_its_template_gives_the_last_turn_the_answer_and_im_end()
    {
        var (ids, mask) = HfTokenizer.Load(TokenizerFixtures.Folder("qwen3")).EncodeChatForTraining(Conversation);
        int[] prompt = RustIds("qwen3", "<|im_start|>user\nWhat is 2+3?<|im_end|>\n<|im_start|>assistant\n");
        int[] turn = RustIds("qwen3", "<think>\n\n</think>\n\n5<|im_end|>");
        int[] glue = RustIds("qwen3", "\n");
        Assert.Equal([.. prompt, .. turn, .. glue], ids);
        Assert.Equal([.. prompt.Select(_ => false), .. turn.Select(_ => true), .. glue.Select(_ => false)], mask);
    }

    [Fact]
    public void Llama31_trains_the_answer_and_eot_id_only()
    {
        var (ids, mask) = HfTokenizer.Load(TokenizerFixtures.Folder("llama3_1")).EncodeChatForTraining(Conversation);
        // This fixture ships the plain Llama 3 template: BOS on the first message, no system header. Rust's Encode adds the
        // post-processor's <|begin_of_text|> (128000) itself, so the texts below leave it out and the turn drops it.
        int[] prompt = RustIds("llama3_1", "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+3?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
        Assert.Equal(128000, prompt[0]);
        int[] turn = RustIds("llama3_1", "5<|eot_id|>")[1..];
        Assert.Equal([.. prompt, .. turn], ids);
        Assert.Equal([.. prompt.Select(_ => false), .. turn.Select(_ => true)], mask);
        Assert.Equal(2, turn.Length);
    }
}
