using Aha.Generation;

namespace Aha.Tests.Serving;

public class ReasoningSplitterTests
{
    // Pieces are pushed one by one ('|' separates them); expected values written by hand.
    [Theory]
    [InlineData("<think>a b</think>42", false, "a b", "42")]
    [InlineData("<thi|nk>a b</th|ink>4|2", false, "a b", "42")]
    [InlineData("<|t|h|i|n|k|>|x|<|/|t|h|i|n|k|>|y", false, "x", "y")]
    [InlineData("no tags at all", false, "", "no tags at all")]
    [InlineData("a < b and <thin", false, "", "a < b and <thin")]          // a tag cut off at the end is text after all
    [InlineData("step 1\n</think>\n\nanswer", true, "step 1\n", "\n\nanswer")] // R1 template: the prompt opened the block
    [InlineData("still thinking", true, "still thinking", "")]
    [InlineData("<think>a</think>b<think>c</think>", false, "a", "b<think>c</think>")] // one block; later tags are answer text
    [InlineData("pre <think>a</think>b", false, "a", "pre b")]
    public void Text_inside_the_think_block_is_reasoning_and_the_rest_is_the_answer(string pieces, bool opened, string reasoning, string content)
    {
        var splitter = new ReasoningSplitter(opened);
        string r = "", c = "";
        foreach (var piece in pieces.Split('|'))
        {
            var (pr, pc) = splitter.Push(piece);
            (r, c) = (r + pr, c + pc);
        }
        var (fr, fc) = splitter.Flush();
        Assert.Equal(reasoning, r + fr);
        Assert.Equal(content, c + fc);
    }

    [Theory]
    [InlineData("<|User|>hi<|Assistant|><think>\n", true)]
    [InlineData("<|im_start|>assistant\n", false)]
    [InlineData("<think>done</think>", false)]
    public void A_prompt_that_ends_with_an_open_think_tag_leaves_the_model_inside_the_block(string prompt, bool opened) =>
        Assert.Equal(opened, ReasoningSplitter.PromptOpensThinking(prompt));
}
