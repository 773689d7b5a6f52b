using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aha.Tokenizer;

namespace Aha.Tests.Tokenizer;

public class ByteTokenizerTests
{
    static readonly ByteTokenizer Tok = ByteTokenizer.Default;

    static string RandomText(Random rng, int length)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < length; i++)
        {
            int cp = rng.Next(6) switch
            {
                0 => rng.Next(0, 0x80),                // ASCII incl. control characters and NUL
                1 => rng.Next(0x80, 0x800),            // two-byte UTF-8
                2 => rng.Next(0x4E00, 0x9FFF),         // CJK
                3 => rng.Next(0x1F300, 0x1FAFF),       // emoji (surrogate pairs in UTF-16)
                4 => rng.Next(0xE000, 0x10FFFF + 1),   // anything above the surrogates
                _ => "<|end|>"[rng.Next(7)],           // pieces of special-token text
            };
            if (cp is >= 0xD800 and <= 0xDFFF) cp = 'x';
            sb.Append(char.ConvertFromUtf32(cp));
        }
        return sb.ToString();
    }

    [Fact]
    public void Random_unicode_text_round_trips_through_encode_and_decode()
    {
        var rng = new Random(1234);
        for (int trial = 0; trial < 500; trial++)
        {
            string text = RandomText(rng, rng.Next(0, 40));
            int[] ids = Tok.Encode(text);
            Assert.All(ids, id => Assert.InRange(id, 0, 255));
            Assert.Equal(Encoding.UTF8.GetByteCount(text), ids.Length);
            Assert.Equal(text, Tok.Decode(ids));
            Assert.Equal(Encoding.UTF8.GetBytes(text), Tok.DecodeBytes(ids));
        }
    }

    [Fact]
    public void Ids_are_the_utf8_bytes()
    {
        Assert.Equal([0x68, 0x69, 0x20, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80], Tok.Encode("hi €😀"));
        Assert.Equal("日本", Tok.Decode(Tok.Encode("日本")));
    }

    [Fact]
    public void A_lone_surrogate_becomes_the_replacement_character()
    {
        Assert.Equal("a\uFFFDb", Tok.Decode(Tok.Encode("a\uD800b")));
        Assert.Equal("\uFFFD", Tok.Decode(Tok.Encode("\uDC00")));
    }

    [Theory]
    [InlineData(new[] { 0xE2, 0x82 }, "\uFFFD")]               // a character cut by the end of a generation
    [InlineData(new[] { 0x61, 0xF0, 0x9F, 0x62 }, "a\uFFFDb")]  // cut in the middle
    [InlineData(new[] { 0xFF, 0xFE }, "\uFFFD\uFFFD")]          // bytes that never occur in UTF-8
    [InlineData(new[] { 0xC3, 257, 0xA9 }, "\uFFFD<|eos|>\uFFFD")] // a special token splits a character
    public void Invalid_utf8_decodes_with_replacement_characters_and_never_throws(int[] ids, string expected) =>
        Assert.Equal(expected, Tok.Decode(ids));

    [Fact]
    public void Special_token_text_in_input_becomes_one_id_as_in_hugging_face_and_stays_bytes_in_encode_bytes()
    {
        Assert.Equal(Encoding.UTF8.GetByteCount("a<|end|>"), ByteTokenizer.EncodeBytes("a<|end|>").Length);
        // By hand: <|bos|> 256, 'a' 97, <|end|> 262, '<' 60, '|' 124, 'x' 120, <|eos|> 257; "<|x" is a near miss and stays text.
        Assert.Equal([256, 97, 262, 60, 124, 120, 257], Tok.Encode("<|bos|>a<|end|><|x<|eos|>"));
    }

    [Theory]
    [InlineData("", new int[0], new[] { 256 })]
    [InlineData("hi", new[] { 104, 105 }, new[] { 256, 104, 105 })]
    [InlineData("é<|user|>", new[] { 0xC3, 0xA9, 260 }, new[] { 256, 0xC3, 0xA9, 260 })]
    public void Add_special_tokens_puts_bos_first_and_nothing_else(string text, int[] plain, int[] withSpecial)
    {
        Assert.Equal(plain, Tok.Encode(text));
        Assert.Equal(withSpecial, Tok.Encode(text, addSpecialTokens: true));
    }

    [Fact]
    public void The_seam_reports_the_byte_special_ids_stops_and_vocabulary()
    {
        ITokenizer t = Tok;
        Assert.Equal((264, 256, 257, 258), (t.VocabSize, t.BosId, t.EosId, t.PadId));
        Assert.Equal([257, 262], t.StopIds);
        Assert.True(t.IsSpecial(256));
        Assert.False(t.IsSpecial(255));
        Assert.Equal(("Ġ", 32), (t.IdToToken(32), t.TokenToId("Ġ")));
        Assert.Equal(("<|end|>", 262), (t.IdToToken(262), t.TokenToId("<|end|>")));
        Assert.Null(t.IdToToken(263));
        Assert.Null(t.TokenToId("ab"));
    }

    [Fact]
    public void Special_tokens_decode_to_their_text_or_to_nothing_when_skipped()
    {
        int[] ids = [ByteTokenizer.Bos, 'o', 'k', ByteTokenizer.End, ByteTokenizer.Spare];
        Assert.Equal("<|bos|>ok<|end|>", Tok.Decode(ids));
        Assert.Equal("ok", Tok.Decode(ids, skipSpecialTokens: true));
        Assert.Equal("ok"u8.ToArray(), Tok.DecodeBytes(ids));
    }

    [Fact]
    public void Ids_outside_the_vocabulary_are_refused_with_the_range()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Tok.Decode([1, 264]));
        Assert.Contains("[0, 264)", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Tok.DecodeBytes([-1]));
    }

    [Fact]
    public void The_special_ids_match_the_model_config_defaults()
    {
        var config = new Aha.Model.ModelConfig();
        Assert.Equal(ByteTokenizer.VocabSize, config.VocabSize);
        Assert.Equal(ByteTokenizer.Bos, config.BosTokenId);
        Assert.Equal(ByteTokenizer.Eos, config.EosTokenId);
        Assert.Equal(ByteTokenizer.Pad, config.PadTokenId);
        Assert.Equal(0, ByteTokenizer.VocabSize % 8);
    }
}
