using Aha.Preferences;
using Aha.Tests.Tokenizer;
using Aha.Tokenizer;
using Xunit;

namespace Aha.Tests.Preferences;

public class EncodedPairTests
{
    [Fact]
    public void Plain_text_pair_is_bos_prompt_then_completion_bytes_and_eos()
    {
        var pair = EncodedPair.Encode(ByteTokenizer.Default, PreferencePair.Text("1+2=", "3", "4"), maxLength: 64);
        Assert.Equal([ByteTokenizer.Bos, '1', '+', '2', '='], pair.Prompt);
        Assert.Equal(['3', ByteTokenizer.Eos], pair.Chosen);
        Assert.Equal(['4', ByteTokenizer.Eos], pair.Rejected);
    }

    [Fact]
    public void Chat_pair_completion_is_the_assistant_content_and_end_of_turn_only()
    {
        var tokenizer = TokenizerLoader.Load(TokenizerFixtures.Folder("llama3"));
        var pair = EncodedPair.Encode(tokenizer, PreferencePair.Chat([new ChatMessage("user", "Say hi")], "Hi there", "Go away"), 256);
        Assert.Equal("Hi there<|eot_id|>", tokenizer.Decode(pair.Chosen));
        Assert.Equal("Go away<|eot_id|>", tokenizer.Decode(pair.Rejected));
        Assert.EndsWith("<|start_header_id|>assistant<|end_header_id|>\n\n", tokenizer.Decode(pair.Prompt));
    }

    [Fact]
    public void Long_rows_lose_the_prompt_start_first_then_the_completion_end()
    {
        var pair = EncodedPair.Encode(ByteTokenizer.Default, PreferencePair.Text("abcdef", "xyz", "q"), maxLength: 6);
        Assert.Equal(['e', 'f'], pair.Prompt); // 6 - longest completion (4) = 2 prompt ids kept, from the end
        Assert.Equal(['x', 'y', 'z', ByteTokenizer.Eos], pair.Chosen);

        var tight = EncodedPair.Encode(ByteTokenizer.Default, PreferencePair.Text("ab", "uvwxyz", "q"), maxLength: 4);
        Assert.Equal(['b'], tight.Prompt); // at least one prompt id stays
        Assert.Equal(['u', 'v', 'w'], tight.Chosen);
        Assert.Equal(['q', ByteTokenizer.Eos], tight.Rejected);
    }
}
