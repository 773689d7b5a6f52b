using Aha.Remote;

namespace Aha.Constitutional;

/// <summary>
/// An OpenAI-compatible chat endpoint as the feedback model (<c>--judge-url</c>: Ollama, llama.cpp's server, vLLM, <c>aha serve</c>,
/// a hosted API). Soft: one token at temperature 0 with its top log-probabilities, normalised over the A and B entries
/// (the server must return <c>top_logprobs</c>, as <c>aha serve</c> does). Hard: one sampled reply, read as A or B.
/// </summary>
public sealed class EndpointJudge(ChatEndpoint endpoint, JudgeMode mode, int maxTokens = 16) : IJudge
{
    public string Name => $"endpoint:{endpoint.Options.Model}";
    public JudgeMode Mode => mode;

    /// <summary>Replies that named neither A nor B (hard), or whose top tokens held neither (soft).</summary>
    public long OffChoice { get; private set; }

    public double? ProbabilityA(string prompt, string a, string b, Principle principle, long seed)
    {
        var messages = CaiText.JudgementMessages(prompt, a, b, principle);
        if (mode == JudgeMode.Soft)
        {
            var reply = endpoint.CompleteAsync(messages, new ChatCall(MaxTokens: 1, Temperature: 0, TopLogprobs: 10)).GetAwaiter().GetResult();
            var first = reply.Logprobs is { Count: > 0 } l ? l[0] : throw new EndpointException($"{endpoint.Options.Option} {endpoint.Options.BaseUrl}: the reply has no log-probabilities for its first token; use a server that returns top_logprobs, or --judge-mode hard.");
            double pa = 0, pb = 0;
            foreach (var (token, logprob) in first.Top.Count > 0 ? first.Top : [(first.Token, first.Logprob)])
            {
                switch (CaiText.Choice(token))
                {
                    case 'A': pa += Math.Exp(logprob); break;
                    case 'B': pb += Math.Exp(logprob); break;
                }
            }
            if (pa + pb == 0) { OffChoice++; return null; }
            return pa / (pa + pb);
        }
        var sampled = endpoint.CompleteAsync(messages, new ChatCall(MaxTokens: maxTokens, Temperature: 1, Seed: seed)).GetAwaiter().GetResult();
        switch (CaiText.Choice(sampled.Content))
        {
            case 'A': return 1;
            case 'B': return 0;
            default: OffChoice++; return null;
        }
    }
}
