/*
 * entities.c - tags people, organizations and places (issue #5).
 *
 * One pass of the gazetteer's token trie over rec->body_toks finds every
 * listed name (longest match wins, case rules per alias token); people the
 * gazetteer does not know are found through titles ("Foreign Minister X
 * Y") and reporting verbs ("X Y said"); surname-only mentions are then
 * linked to people named in full in the same article. Results go to
 * rec->entities, sorted by salience. The text is never re-tokenized.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "processor.h"
#include "../core/gazetteer.h"
#include "../core/phrase.h"
#include "../core/text.h"

struct entities_conf {
    struct conf_list gazetteer;
    int demonyms;
    int person_cues;
    int surname_linking;
    int64_t max_entities;
    int unknown_datelines;
};

static const struct conf_key entities_keys[] = {
    {"gazetteer", CONF_LIST, "gazetteer", offsetof(struct entities_conf, gazetteer),
     "gazetteer files, or folders of *.gaz files, relative to the config file's folder"},
    {"demonyms", CONF_BOOL, "true", offsetof(struct entities_conf, demonyms),
     "tag a country from its demonym (\"Ukrainian forces\" -> Ukraine)"},
    {"person_cues", CONF_BOOL, "true", offsetof(struct entities_conf, person_cues),
     "find people missing from the gazetteer through titles and reporting verbs"},
    {"surname_linking", CONF_BOOL, "true", offsetof(struct entities_conf, surname_linking),
     "link surname-only mentions to a person named in full in the same article"},
    {"max_entities", CONF_INT, "50", offsetof(struct entities_conf, max_entities),
     "most entities kept per record (the most salient), 1-1000"},
    {"unknown_datelines", CONF_BOOL, "true", offsetof(struct entities_conf, unknown_datelines),
     "tag a dateline place that is not in the gazetteer (as a place without id)"},
    {NULL, 0, NULL, 0, NULL},
};

/* Small set of token hashes (open addressing; 0 marks an empty slot). */
struct hset {
    uint64_t slots[1024];
};

/* Capitalized words that are not names, even before "said". */
static const char *const stop_words[] = {
    "the", "a", "an", "this", "that", "these", "those", "he", "she", "it", "they",
    "we", "i", "you", "his", "her", "their", "our", "its", "but", "and", "or", "if",
    "when", "while", "after", "before", "as", "at", "in", "on", "of", "for", "from",
    "by", "with", "to", "under", "over", "since", "despite", "although", "however",
    "meanwhile", "there", "here", "what", "who", "where", "why", "how", "some", "many",
    "most", "all", "both", "each", "one", "two", "three", "no", "not", "yes", "so",
    "then", "also", "still", "only", "even", "just", "more", "officials", "residents",
    "witnesses", "analysts", "diplomats", "sources", "police", "troops", "soldiers",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december", "today", "yesterday", "tomorrow",
    "north", "south", "east", "west", "northern", "southern", "eastern", "western",
    "central", "new", "old", "great", "upper", "lower", "greater",
    "ministry", "department", "office", "agency", "service", "services", "council",
    "committee", "commission", "government", "parliament", "assembly", "court",
    "congress", "senate", "cabinet", "party", "union", "army", "forces", "force",
    "military", "navy", "air", "command", "guard", "corps", "brigade", "regiment",
    "battalion", "division", "fleet", "group", "organization", "organisation",
    "federation", "republic", "kingdom", "state", "states", "national",
    "international", "united", "democratic", "people", "popular", "islamic",
    "front", "movement", "alliance", "coalition", "bank", "fund", "institute",
    "university", "center", "centre", "news", "times", "post", "press", "reuters",
    "associated", "street", "square", "palace", "house", "hall", "city", "province",
    "region", "oblast", "district", "county", "river", "sea", "ocean", "island",
    "islands", "mount", "lake", "bay", "gulf", "strait", "airport", "station", "port",
    "plant", "company", "corp", "inc", "ltd", "day", "week", "year", "christmas",
    "easter", "ramadan", "god", "church", "mosque", "embassy", "supreme", "high",
    "federal", "royal", "special", "joint", "staff", "acting", "former", "vice",
    "foreign", "defence", "defense", "interior", "finance", "justice", "economy",
    "energy", "health", "security", "intelligence", "european", "western", "arab",
    "kurdish", "muslim", "christian", "jewish", "sunni", "shiite", "shia", "soviet",
    "african", "asian", "latin", "nuclear", "ceasefire", "peace", "war", "talks",
    "summit", "deal", "agreement", "treaty", "plan", "report", "statement",
    "according", "asked", "speaking", "writing", "reporting", "additional",
    "editing", "related", "read", "see", "watch", "breaking", "update", "exclusive",
    "analysis", "opinion", "video", "photos", "live", "pm", "am", "gmt", "utc",
    /* Heads of company, league and institution names: "General
     * Electric", "Premier League", "Major League Baseball" begin with a
     * title word, and what follows is never a person. */
    "league", "cup", "championship", "club", "baseball", "football", "soccer",
    "basketball", "hockey", "olympics", "olympic", "games", "electric", "motors",
    "dynamics", "atomics", "aerospace", "aviation", "airlines", "airways",
    "systems", "industries", "holdings", "partners", "capital", "technologies",
    "technology", "pharmaceuticals", "petroleum", "oil", "gas", "mills", "foods",
    "media", "communications", "network", "entertainment", "studios", "express",
    "exchange", "market", "markets", "reserve", "treasury", "bureau", "authority",
    "administration", "board", "tribunal", "foundation", "trust", "society",
    "association", "academy", "school", "college", "hospital", "museum",
    "gallery", "festival", "biennale", "prize", "award", "awards", "arts",
    "electronic", "electronics", "software", "labs", "robotics", "sciences",
    "solutions", "resources", "mining", "metals", "steel", "chemicals", "motor",
    "automotive", "insurance", "securities", "investments", "ventures", "brands",
    "retail", "stores", "logistics", "shipping", "lines", "telecom", "wireless",
    "broadcasting", "pictures", "records",
};

/* Titles and roles written before a name ("President", "spokesman"). The
 * words themselves never count as part of a name. */
static const char *const cue_phrases[] = {
    "president", "vice president", "prime minister", "premier", "chancellor",
    "minister", "foreign minister", "defence minister", "defense minister",
    "interior minister", "finance minister", "deputy minister", "secretary",
    "secretary of state", "secretary general", "secretary-general",
    "defense secretary", "defence secretary", "foreign secretary",
    "spokesman", "spokeswoman", "spokesperson", "ambassador", "envoy",
    "general", "gen", "lieutenant general", "major general", "brigadier general",
    "lieutenant", "lt", "colonel", "col", "major", "maj", "captain", "capt",
    "commander", "admiral", "adm", "sergeant", "sgt", "senator", "sen",
    "governor", "gov", "mayor", "king", "queen", "prince", "princess", "sheikh",
    "emir", "ayatollah", "pope", "cardinal", "bishop", "archbishop", "rabbi",
    "imam", "judge", "prosecutor", "mr", "mrs", "ms", "dr", "prof", "professor",
    "lawmaker", "legislator", "mp", "congressman", "congresswoman",
    "representative", "rep", "chief", "director", "head", "leader", "chairman",
    "chairwoman", "chair", "deputy", "official", "adviser", "advisor", "aide",
    "analyst", "economist", "researcher", "commissioner", "ceo", "founder",
    "activist", "journalist", "correspondent", "negotiator", "mediator",
    "coordinator", "rapporteur", "governor general", "speaker", "lawyer",
    "attorney", "attorney general", "colleague", "counterpart", "resident",
    /* Corporate, sports and other roles: capitalized before a name ("Chief
     * Executive Lisa Su"), they must not be taken into it. */
    "executive", "chief executive", "chief executive officer", "officer",
    "chief operating officer", "chief financial officer", "executive director",
    "managing director", "director general", "executive vice president",
    "president elect", "chief minister", "chief justice", "justice",
    "undersecretary", "under secretary", "assistant secretary", "deputy secretary",
    "state secretary", "minister of state", "field marshal", "marshal", "brigadier",
    "patriarch", "sultan", "crown prince", "first lady", "opposition leader",
    "manager", "coach", "head coach", "striker", "midfielder", "goalkeeper",
    "defender", "boss", "owner", "editor", "author", "artist", "curator",
    "scientist", "astronomer", "strategist", "inspector", "superintendent",
    "detective", "sheriff", "ombudsman",
};

/* Titles before which a single name word is a person ("Gen. Smith", "Mr
 * Smith", "King Charles", "Pope Francis"). After other capitalized titles
 * one word is too often a company or league ("General Electric",
 * "Premier League"): it only links to a person named in full. */
static const char *const single_name_cues[] = {
    "mr", "mrs", "ms", "dr", "king", "queen", "prince", "princess", "pope",
    "emir", "sheikh", "ayatollah", "sultan", "cardinal", "patriarch", "imam",
    "rabbi",
};

/* Title words that may stand inside a name ("Hassan Sheikh Mohamud"). */
static const char *const inner_name_words[] = {"sheikh"};

/* Capitalized words that may follow a name without being part of it. */
static const char *const time_words[] = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december",
};

/* Abbreviated titles, written with a full stop ("Gen. Smith"). */
static const char *const abbrev_cues[] = {
    "mr", "mrs", "ms", "dr", "gen", "lt", "col", "maj", "capt", "sgt", "adm",
    "sen", "rep", "gov", "prof",
};

/* Lower-case words inside names ("Abdulaziz bin Salman", "al-Burhan"). */
static const char *const particles[] = {
    "bin", "bint", "ibn", "al", "el", "von", "van", "der", "den", "de", "da", "di",
    "du", "dos", "das", "del", "la", "le", "abu", "ben", "ter", "ten",
};

static const char *const verbs[] = {
    "said", "says", "told", "added", "wrote", "warned", "announced", "stated",
    "insisted", "explained", "argued", "noted", "stressed", "urged", "declared",
    "tweeted", "posted", "confirmed", "denied", "acknowledged", "claimed",
    "replied", "asked", "vowed", "pledged", "promised", "cautioned", "recalled",
};

/* A person, organization or place found in the current article. */
struct found {
    uint32_t gaz;          /* gazetteer entity, GAZ_NONE otherwise */
    uint32_t tok, ntok;    /* person found by cues / unknown dateline: name
                              tokens in the body (ntok 0: name_buf) */
    uint32_t sur_tok, sur_ntok; /* a cue person's surname ("Kosiniak-Kamysz") */
    int full;              /* named in full (not just by surname) */
    int in_headline;
    int dateline;
    uint32_t first_off;
    uint32_t nspans;
    uint32_t span_start;   /* index of its first span after sorting */
    enum entity_type type;
    double salience;
};

struct mention {
    uint32_t found;
    uint32_t off, len;
};

struct pending {           /* a surname-only alias waiting for its person */
    uint32_t alias;        /* head of the alias chain */
    uint32_t tok, ntok;
    int headline;
};

struct entities {
    const struct entities_conf *conf;
    char **paths;
    size_t npaths;
    struct gazetteer *gaz;
    struct phrase_set *cues;
    /* notname: stop words and title words, never part of an unlisted
     * name; cue_last: last words of titles (no title can end elsewhere). */
    struct hset notname, abbrev, verb, particle, cue_last, single_cue, inner, timew;

    /* Per-record scratch, reused across records. */
    uint32_t *owner;       /* body token -> found index + 1; 0 free */
    size_t cap_owner;
    struct found *found;
    size_t nfound, cap_found;
    struct mention *m;
    size_t nm, cap_m;
    struct pending *pend;
    size_t npend, cap_pend;
    struct mention *m2;    /* emit()'s scratch for grouping mentions */
    size_t cap_m2;
    struct found **order;
    size_t cap_order;
    /* Filled by collect(), per token stream: tokens that may start an
     * alias, and (body only) tokens that may be part of an unlisted name,
     * ignoring owner, for both cue passes. */
    uint32_t *gcand;       /* indices of possible alias starts, ascending */
    size_t ngcand;
    uint8_t *namecls;      /* per body token: 1 if name-like */
    uint32_t *cand;        /* indices of name-like tokens, ascending */
    size_t ncand, cap_tok;
    /* Gazetteer entity -> found index + 1 (open addressing, 0 empty), at
     * most half full: most mentions in a big gazetteer name a new entity,
     * which a linear search over found[] would pay in full. */
    uint32_t *fmap;
    size_t fmap_mask;

    /* Counters for stats(). */
    uint64_t records, entities_out, mentions_out, cue_people, reloads,
             reload_failures, errors;
};

#define OWNER_PENDING UINT32_MAX

static int grow(void **arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 64;
    while (ncap < need)
        ncap *= 2;
    void *p = realloc(*arr, ncap * size);
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

static void hset_add(struct hset *s, uint64_t h)
{
    size_t mask = sizeof(s->slots) / sizeof(s->slots[0]) - 1;
    size_t i = (size_t)(h ^ (h >> 29)) & mask;
    while (s->slots[i] && s->slots[i] != h)
        i = (i + 1) & mask;
    s->slots[i] = h;
}

static int hset_has(const struct hset *s, uint64_t h)
{
    size_t mask = sizeof(s->slots) / sizeof(s->slots[0]) - 1;
    size_t i = (size_t)(h ^ (h >> 29)) & mask;
    while (s->slots[i]) {
        if (s->slots[i] == h)
            return 1;
        i = (i + 1) & mask;
    }
    return 0;
}

static void hset_fill(struct hset *s, const char *const *words, size_t n)
{
    for (size_t i = 0; i < n; i++)
        hset_add(s, text_hash64(words[i], strlen(words[i])));
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static struct gazetteer *load_gazetteer(const struct entities *st, char *err, size_t errlen)
{
    return gazetteer_load((const char *const *)st->paths, st->npaths, err, errlen);
}

static void entities_destroy(void *state)
{
    struct entities *st = state;
    if (!st)
        return;
    for (size_t i = 0; i < st->npaths; i++)
        free(st->paths[i]);
    free(st->paths);
    gazetteer_free(st->gaz);
    phrase_set_free(st->cues);
    free(st->owner);
    free(st->found);
    free(st->m);
    free(st->m2);
    free(st->pend);
    free(st->order);
    free(st->fmap);
    free(st->gcand);
    free(st->namecls);
    free(st->cand);
    free(st);
}

static int entities_init(void **state, const void *confp, const struct processor_env *env,
                         char *err, size_t errlen)
{
    const struct entities_conf *conf = confp;
    struct entities *st = calloc(1, sizeof(*st));

    if (!st) {
        snprintf(err, errlen, "entities: out of memory");
        return -1;
    }
    st->conf = conf;
    if (conf->max_entities < 1 || conf->max_entities > 1000) {
        snprintf(err, errlen, "entities: max_entities must be 1-1000");
        goto fail;
    }
    if (conf->gazetteer.n == 0) {
        snprintf(err, errlen, "entities: no gazetteer configured");
        goto fail;
    }
    st->paths = calloc(conf->gazetteer.n, sizeof(*st->paths));
    if (!st->paths)
        goto oom;
    for (size_t i = 0; i < conf->gazetteer.n; i++) {
        const char *p = conf->gazetteer.items[i];
        st->paths[i] = env && env->cf ? conf_resolve_path(env->cf, p) : strdup(p);
        if (!st->paths[i])
            goto oom;
        st->npaths++;
    }
    char why[512];
    st->gaz = load_gazetteer(st, why, sizeof(why));
    if (!st->gaz) {
        snprintf(err, errlen, "entities: %s", why);
        goto fail;
    }
    st->fmap_mask = 255;
    st->fmap = calloc(st->fmap_mask + 1, sizeof(*st->fmap));
    st->cues = phrase_set_new();
    if (!st->cues || !st->fmap)
        goto oom;
    for (size_t i = 0; i < NELEM(cue_phrases); i++)
        if (phrase_set_add(st->cues, cue_phrases[i], 1, why, sizeof(why)) < 0)
            goto oom;
    hset_fill(&st->notname, stop_words, NELEM(stop_words));
    hset_fill(&st->abbrev, abbrev_cues, NELEM(abbrev_cues));
    hset_fill(&st->verb, verbs, NELEM(verbs));
    hset_fill(&st->particle, particles, NELEM(particles));
    hset_fill(&st->single_cue, single_name_cues, NELEM(single_name_cues));
    hset_fill(&st->inner, inner_name_words, NELEM(inner_name_words));
    hset_fill(&st->timew, time_words, NELEM(time_words));
    /* Every word of a title ("Prime" in "Deputy Prime Minister") is a
     * title word, never part of a name. */
    struct tokens ct = {0};
    for (size_t i = 0; i < NELEM(cue_phrases); i++) {
        if (text_tokenize(cue_phrases[i], strlen(cue_phrases[i]), &ct) < 0)
            goto oom;
        for (size_t k = 0; k < ct.n; k++)
            if (ct.toks[k].len > 2)
                hset_add(&st->notname, ct.toks[k].hash);
        if (ct.n)
            hset_add(&st->cue_last, ct.toks[ct.n - 1].hash);
    }
    text_tokens_free(&ct);
    *state = st;
    return 0;
oom:
    snprintf(err, errlen, "entities: out of memory");
fail:
    entities_destroy(st);
    return -1;
}

static inline size_t fmap_slot(uint32_t g, size_t mask)
{
    return (size_t)((uint32_t)(g * 0x9e3779b1u) >> 8) & mask;
}

/* Doubles fmap and re-enters the gazetteer entities found so far. */
static int fmap_grow(struct entities *st)
{
    size_t cap = (st->fmap_mask + 1) * 2;
    uint32_t *m = calloc(cap, sizeof(*m));
    if (!m)
        return -1;
    for (size_t i = 0; i < st->nfound; i++) {
        if (st->found[i].gaz == GAZ_NONE)
            continue;
        size_t s = fmap_slot(st->found[i].gaz, cap - 1);
        while (m[s])
            s = (s + 1) & (cap - 1);
        m[s] = (uint32_t)i + 1;
    }
    free(st->fmap);
    st->fmap = m;
    st->fmap_mask = cap - 1;
    return 0;
}

/* Index of the found entry for gazetteer entity g (of type `type`),
 * adding it if new. */
static int found_gaz(struct entities *st, uint32_t g, enum entity_type type, uint32_t *idx)
{
    size_t s = fmap_slot(g, st->fmap_mask);
    for (; st->fmap[s]; s = (s + 1) & st->fmap_mask)
        if (st->found[st->fmap[s] - 1].gaz == g) {
            *idx = st->fmap[s] - 1;
            return 0;
        }
    if ((st->nfound + 1) * 2 > st->fmap_mask + 1) {
        if (fmap_grow(st) < 0)
            return -1;
        s = fmap_slot(g, st->fmap_mask);
        while (st->fmap[s])
            s = (s + 1) & st->fmap_mask;
    }
    if (grow((void **)&st->found, &st->cap_found, st->nfound + 1, sizeof(*st->found)) < 0)
        return -1;
    struct found *f = &st->found[st->nfound];
    memset(f, 0, sizeof(*f));
    f->gaz = g;
    f->type = type;
    f->first_off = UINT32_MAX;
    *idx = (uint32_t)st->nfound++;
    st->fmap[s] = *idx + 1;
    return 0;
}

static int add_mention(struct entities *st, uint32_t fi, const struct tokens *t,
                       size_t tok, size_t ntok)
{
    if (grow((void **)&st->m, &st->cap_m, st->nm + 1, sizeof(*st->m)) < 0)
        return -1;
    const struct token *a = &t->toks[tok], *b = &t->toks[tok + ntok - 1];
    st->m[st->nm].found = fi;
    st->m[st->nm].off = a->off;
    st->m[st->nm].len = b->off + b->len - a->off;
    st->nm++;
    for (size_t k = tok; k < tok + ntok; k++)
        st->owner[k] = fi + 1;
    if (a->off < st->found[fi].first_off)
        st->found[fi].first_off = a->off;
    return 0;
}


/*
 * The gazetteer scan over one token stream. In the body it records
 * mentions and owners; in the headline (headline = 1) it only marks
 * in_headline. Surname-only aliases become pending entries.
 */
/*
 * "U.N. Security Council": the tokenizer reads ". " after a dotted
 * abbreviation as a sentence end, so the trie walk would stop there. When
 * token i starts such an abbreviation, match on a copy of the next few
 * tokens with that one break removed.
 */
#define BRIDGE_TOKENS 12
static size_t match_bridged(const struct gazetteer *g, const struct tokens *t, size_t i,
                            const char *text, size_t text_len,
                            struct phrase_match *m, size_t max)
{
    size_t j = i;
    while (j + 1 < t->n && t->toks[j + 1].len == 1 && !(t->toks[j + 1].flags & TOK_BREAK))
        j++;
    const struct token *last = &t->toks[j];
    /* local[] below holds BRIDGE_TOKENS tokens: a longer run of single
     * letters ("N.N.N.N...", found by fuzz_entities) is not bridged. */
    if (j == i || j + 1 - i >= BRIDGE_TOKENS || j + 1 >= t->n ||
        !(t->toks[j + 1].flags & TOK_BREAK) ||
        last->off + 1 >= text_len || text[last->off + 1] != '.' ||
        (t->toks[j + 1].flags & TOK_PARA_START))
        return phrase_set_match_at(g->ps, t, i, m, max);

    struct token local[BRIDGE_TOKENS];
    size_t n = t->n - i < BRIDGE_TOKENS ? t->n - i : BRIDGE_TOKENS;
    memcpy(local, &t->toks[i], n * sizeof(*local));
    local[j + 1 - i].flags &= (uint16_t)~(TOK_BREAK | TOK_SENT_START);
    struct tokens view = {.toks = local, .n = n};
    return phrase_set_match_at(g->ps, &view, 0, m, max);
}

/*
 * One streaming pass over a token stream, so that the rest only visits
 * candidates. Lists the tokens that may start an alias (the gazetteer's
 * start filter: most words cost one 64-bit load instead of a probe into
 * the possibly large trie table) and prefetches the trie slot of each, so
 * that by the time scan_gazetteer() walks them their first step is in
 * cache. With `names`, also marks and lists the tokens that may be part of
 * a name nobody listed (capitalized, not in capitals, no digit, 2+ bytes,
 * not a stop or title word) for the cue passes.
 */
static int collect(struct entities *st, const struct tokens *t, int names, int prefetch)
{
    const struct gazetteer *g = st->gaz;

    if (t->n + 1 > st->cap_tok) {
        size_t cap = st->cap_tok ? st->cap_tok : 64;
        while (cap < t->n + 1)
            cap *= 2;
        uint32_t *gc = realloc(st->gcand, cap * sizeof(*gc));
        if (gc)
            st->gcand = gc;
        uint32_t *nc = realloc(st->cand, cap * sizeof(*nc));
        if (nc)
            st->cand = nc;
        uint8_t *cls = realloc(st->namecls, cap);
        if (cls)
            st->namecls = cls;
        if (!gc || !nc || !cls)
            return -1;
        st->cap_tok = cap;
    }
    /* Everything in locals: the byte stores to namecls may alias any
     * memory, which would make the compiler reload st's fields each time. */
    const struct token *toks = t->toks;
    const size_t n = t->n;
    uint32_t *gcand = st->gcand, *cand = st->cand;
    uint8_t *namecls = st->namecls;
    const uint64_t *filter = g->start_filter;
    const size_t fmask = g->start_filter_mask;
    size_t ng = 0, nc = 0;
    if (names)
        memset(namecls, 0, n);
    for (size_t i = 0; i < n; i++) {
        const uint16_t flags = toks[i].flags;
        const uint64_t h = toks[i].hash;
        /* gazetteer_may_start()'s first test, inline: most words stop here. */
        uint64_t m = gazetteer_filter_mix((flags & (TOK_CAP | TOK_UPPER)) ? h
                                                                          : gazetteer_lower_key(h));
        uint64_t w = filter[GAZ_FILTER_WORD(m, fmask)];
        if (__builtin_expect((w >> GAZ_FILTER_BIT1(m)) & 1, 0) && gazetteer_may_start(g, t, i)) {
            gcand[ng++] = (uint32_t)i;
            if (prefetch)
                phrase_set_prefetch(g->ps, h);
        }
        if (names && (flags & (TOK_CAP | TOK_UPPER | TOK_DIGIT)) == TOK_CAP &&
            toks[i].len >= 2 && !hset_has(&st->notname, h)) {
            namecls[i] = 1;
            cand[nc++] = (uint32_t)i;
        }
    }
    st->ngcand = ng;
    if (names)
        st->ncand = nc;
    return 0;
}

#define PREFETCH_MIN_BYTES (1u << 20)

/*
 * 1 if body tokens [i, i+n) are glued to another capitalized word, as part
 * of a longer name nobody listed: "Austin Energy", "Sadiq Khan" when the
 * article names Lloyd Austin or Karim Khan. A word before does not count
 * when it starts a sentence, is possessive ("ICC's Khan") or is a title or
 * stop word ("Secretary Austin"); a word after does not when it is a day
 * or month. Only for surname-only mentions: a listed full name wins by
 * longest match anyway ("Khan Younis").
 */
static int glued(const struct entities *st, const struct tokens *t, size_t i, size_t n)
{
    size_t j = i + n;
    if (j < t->n && !(t->toks[j].flags & (TOK_BREAK | TOK_DIGIT)) &&
        (t->toks[j].flags & TOK_CAP) && !hset_has(&st->timew, t->toks[j].hash))
        return 1;
    if (i > 0 && !(t->toks[i].flags & TOK_BREAK)) {
        const struct token *p = &t->toks[i - 1];
        if ((p->flags & (TOK_CAP | TOK_UPPER | TOK_SENT_START | TOK_POSS | TOK_DIGIT)) ==
                TOK_CAP && !hset_has(&st->notname, p->hash))
            return 1;
    }
    return 0;
}

static int scan_gazetteer(struct entities *st, const struct tokens *t, const char *text,
                          size_t text_len, int headline)
{
    const struct gazetteer *g = st->gaz;
    struct phrase_match m[16];
    size_t resume = 0;

    /* Prefetching pays when the trie outgrows the caches (it costs a
     * little when it fits: 2k names take ~100 KB, 100k names 8 MB). */
    int prefetch = phrase_set_memory(g->ps) > PREFETCH_MIN_BYTES;
    if (collect(st, t, !headline && st->conf->person_cues, prefetch) < 0)
        return -1;
    /* The roots fetched by collect() have had time to arrive: fetch the
     * second step of every walk too, before walking any of them. */
    for (size_t c = 0; prefetch && c < st->ngcand; c++) {
        size_t i = st->gcand[c];
        if (i + 1 < t->n)
            phrase_set_prefetch2(g->ps, t->toks[i].hash, t->toks[i + 1].hash);
    }
    for (size_t c = 0; c < st->ngcand; c++) {
        size_t i = st->gcand[c];
        if (i < resume)
            continue;   /* inside the alias matched before */
        const struct token *tok = &t->toks[i];
        size_t nm = tok->len == 1 && text
                    ? match_bridged(g, t, i, text, text_len, m, NELEM(m))
                    : phrase_set_match_at(g->ps, t, i, m, NELEM(m));
        if (nm == 0)
            continue;
        const struct gaz_alias *pick = NULL, *pick_surname = NULL;
        uint32_t head = GAZ_NONE;
        for (size_t k = nm; k-- > 0 && !pick && !pick_surname; ) {
            for (uint32_t ai = m[k].value; ai != GAZ_NONE; ai = g->aliases[ai].next) {
                const struct gaz_alias *a = &g->aliases[ai];
                if (a->kind == GAZ_ALIAS_DEMONYM && !st->conf->demonyms)
                    continue;
                if (!gazetteer_alias_case_ok(g, a, &t->toks[i]))
                    continue;
                if (a->kind == GAZ_ALIAS_SURNAME) {
                    if (!pick_surname) {
                        pick_surname = a;
                        head = m[k].value;
                    }
                    continue;
                }
                pick = a;
                break;
            }
        }
        if (pick) {
            uint32_t fi;
            if (found_gaz(st, pick->entity, (enum entity_type)pick->type, &fi) < 0)
                return -1;
            if (pick->kind == GAZ_ALIAS_NAME)
                st->found[fi].full = 1;
            if (headline)
                st->found[fi].in_headline = 1;
            else if (add_mention(st, fi, t, i, pick->ntok) < 0)
                return -1;
            resume = i + pick->ntok;
        } else if (pick_surname) {
            if (!st->conf->surname_linking ||
                (!headline && glued(st, t, i, pick_surname->ntok)))
                continue;
            if (grow((void **)&st->pend, &st->cap_pend, st->npend + 1, sizeof(*st->pend)) < 0)
                return -1;
            struct pending *p = &st->pend[st->npend++];
            p->alias = head;
            p->tok = (uint32_t)i;
            p->ntok = pick_surname->ntok;
            p->headline = headline;
            if (!headline)
                for (size_t k = i; k < i + p->ntok; k++)
                    st->owner[k] = OWNER_PENDING;
            resume = i + pick_surname->ntok;
        }
    }
    return 0;
}

/* Resolves pending surname mentions against people named in full. */
static int resolve_pending(struct entities *st, const struct tokens *body,
                           const struct tokens *head)
{
    const struct gazetteer *g = st->gaz;
    for (size_t i = 0; i < st->npend; i++) {
        struct pending *p = &st->pend[i];
        uint32_t fi = UINT32_MAX;
        for (uint32_t ai = p->alias; ai != GAZ_NONE && fi == UINT32_MAX;
             ai = g->aliases[ai].next) {
            for (size_t k = 0; k < st->nfound; k++)
                if (st->found[k].gaz == g->aliases[ai].entity && st->found[k].full) {
                    fi = (uint32_t)k;
                    break;
                }
        }
        if (p->headline) {
            if (fi != UINT32_MAX)
                st->found[fi].in_headline = 1;
            continue;
        }
        if (fi == UINT32_MAX) {
            for (size_t k = p->tok; k < p->tok + p->ntok; k++)
                st->owner[k] = 0;   /* free again for the cue pass */
        } else if (add_mention(st, fi, body, p->tok, p->ntok) < 0) {
            return -1;
        }
    }
    (void)head;
    return 0;
}

/* A token that may be part of a name nobody listed (after collect()). */
static inline int name_like(const struct entities *st, const struct tokens *t, size_t j)
{
    (void)t;
    return st->owner[j] == 0 && st->namecls[j];
}

/* End of the run of name tokens starting at a (name_like(a) holds): no
 * punctuation inside, lower-case particles only between name words. */
static size_t run_end(const struct entities *st, const struct tokens *t, size_t a, size_t max)
{
    size_t b = a + 1;
    while (b < t->n && b - a < max && !(t->toks[b].flags & TOK_BREAK)) {
        if (name_like(st, t, b)) {
            b++;
        } else if (st->owner[b] == 0 && (t->toks[b].flags & TOK_CAP) &&
                   hset_has(&st->inner, t->toks[b].hash) && b + 1 < t->n &&
                   !(t->toks[b + 1].flags & TOK_BREAK) && name_like(st, t, b + 1)) { // NOLINT(bugprone-branch-clone): two rules, kept apart
            b += 2;     /* "Hassan Sheikh Mohamud" */
        } else if (st->owner[b] == 0 && !(t->toks[b].flags & TOK_CAP) &&
                   hset_has(&st->particle, t->toks[b].hash) && b + 1 < t->n &&
                   !(t->toks[b + 1].flags & TOK_BREAK) && name_like(st, t, b + 1)) {
            b += 2;
        } else {
            break;
        }
    }
    return b;
}

/* 1 if only a comma (and spaces) separates token a from the one before. */
static int comma_before(const struct tokens *t, size_t a, const char *text)
{
    if (a == 0 || (t->toks[a].flags & TOK_SENT_START))
        return 0;
    const char *p = text + t->toks[a - 1].off + t->toks[a - 1].len;
    const char *e = text + t->toks[a].off;
    if (p >= e || *p != ',')
        return 0;
    for (p++; p < e; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n')
            return 0;
    return 1;
}

/* 1 if a title or role phrase ends right before token a. *appos: only a
 * comma stands between ("the foreign minister, Qin Gang,"). */
static int cue_before(const struct entities *st, const struct tokens *t, size_t a,
                      const char *text, int *cue_cap, int *single, int *appos)
{
    struct phrase_match m[8];
    size_t lo = a >= 4 ? a - 4 : 0;

    if (a == 0)
        return 0;
    if (t->toks[a].flags & TOK_BREAK) {
        /* Before a full stop, only an abbreviated title; before a comma,
         * any title, as an apposition. */
        const struct token *c = &t->toks[a - 1];
        if (hset_has(&st->abbrev, c->hash) && text[c->off + c->len] == '.') {
            *cue_cap = 1;
            *single = 1;
            return 1;
        }
        if (!comma_before(t, a, text))
            return 0;
        *appos = 1;
    }
    if (!hset_has(&st->cue_last, t->toks[a - 1].hash))
        return 0;   /* no title ends right before a: skip the trie walks */
    for (size_t k = lo; k < a; k++) {
        size_t nm = phrase_set_match_at(st->cues, t, k, m, NELEM(m));
        for (size_t x = 0; x < nm; x++)
            if (k + m[x].ntok == a) {
                *cue_cap = (t->toks[a - 1].flags & TOK_CAP) != 0;
                *single = hset_has(&st->single_cue, t->toks[a - 1].hash);
                return 1;
            }
    }
    return 0;
}

static int same_name(const struct tokens *t, size_t a, size_t n, size_t b)
{
    for (size_t k = 0; k < n; k++)
        if (t->toks[a + k].hash != t->toks[b + k].hash)
            return 0;
    return 1;
}

/* Adds or finds the person named by tokens [a, a+n). */
static int found_person(struct entities *st, const struct tokens *t, size_t a, size_t n,
                        uint32_t *idx)
{
    for (size_t i = 0; i < st->nfound; i++) {
        struct found *f = &st->found[i];
        if (f->gaz != GAZ_NONE || f->type != ENTITY_PERSON)
            continue;
        if ((f->ntok == n && same_name(t, f->tok, n, a)) ||
            (f->sur_ntok == n && same_name(t, f->sur_tok, n, a))) {
            *idx = (uint32_t)i;
            return 0;
        }
    }
    if (grow((void **)&st->found, &st->cap_found, st->nfound + 1, sizeof(*st->found)) < 0)
        return -1;
    struct found *f = &st->found[st->nfound];
    memset(f, 0, sizeof(*f));
    f->gaz = GAZ_NONE;
    f->type = ENTITY_PERSON;
    f->tok = (uint32_t)a;
    f->ntok = (uint32_t)n;
    /* The surname: the last word and whatever hyphens join to it. */
    size_t s = a + n - 1;
    while (s > a && (t->toks[s].flags & TOK_HYPHEN))
        s--;
    f->sur_tok = (uint32_t)s;
    f->sur_ntok = n > 1 ? (uint32_t)(a + n - s) : 0;
    f->full = 1;
    f->first_off = UINT32_MAX;
    *idx = (uint32_t)st->nfound++;
    st->cue_people++;
    return 0;
}

/* People the gazetteer does not list, from titles and reporting verbs. */
static int scan_cues(struct entities *st, const struct tokens *t, const char *text)
{
    size_t n = t->n, resume = 0;

    for (size_t c = 0; c < st->ncand; c++) {
        size_t a = st->cand[c];
        if (a < resume || !name_like(st, t, a))
            continue;
        size_t b = run_end(st, t, a, 6);
        int cap = 0, single = 0, appos = 0;
        int cue = cue_before(st, t, a, text, &cap, &single, &appos);
        int closed = b == n || (t->toks[b].flags & TOK_BREAK);
        /* An apposition names one person: "the minister, X Y, said". */
        if (appos && (!closed || b - a < 2))
            cue = 0;
        int verb_after = b < n && hset_has(&st->verb, t->toks[b].hash) &&
                         (!(t->toks[b].flags & TOK_BREAK) ||
                          (comma_before(t, b, text) && comma_before(t, a, text)));
        int verb_before = a > 0 && !(t->toks[a].flags & TOK_BREAK) &&
                          hset_has(&st->verb, t->toks[a - 1].hash);
        size_t len = b - a, start = a;
        int ok = 0;
        /* Two rules, kept apart for reading. */
        /* One word after a title: only after "Gen.", "Mr", "King"...
         * (others, "General Electric", are left to link_people()). */
        if (cue && (len >= 2 || (cap && single)))
            ok = 1; // NOLINT(bugprone-branch-clone)
        else if ((verb_after || verb_before) && len >= 2)
            ok = 1;
        if (ok && !cue && len > 3) {
            start = b - 3;      /* "Officials Told John Smith said": keep the end */
            len = 3;
        }
        if (ok && len > 5)
            len = 5;
        if (ok) {
            uint32_t fi;
            if (found_person(st, t, start, len, &fi) < 0 ||
                add_mention(st, fi, t, start, len) < 0)
                return -1;
        }
        resume = b;
    }
    return 0;
}

/* 1 if some person found through cues could be mentioned again. */
static int have_cue_people(const struct entities *st)
{
    for (size_t i = 0; i < st->nfound; i++)
        if (st->found[i].gaz == GAZ_NONE && st->found[i].type == ENTITY_PERSON)
            return 1;
    return 0;
}

/* Later mentions of cue-found people: the full name again, or the surname. */
static int link_people(struct entities *st, const struct tokens *t)
{
    size_t nf = st->nfound, resume = 0;
    for (size_t c = 0; c < st->ncand; c++) {
        size_t a = st->cand[c];
        if (a < resume || !name_like(st, t, a))
            continue;
        size_t b = run_end(st, t, a, 6);
        size_t len = b - a;
        for (size_t i = 0; i < nf; i++) {
            struct found *f = &st->found[i];
            if (f->gaz != GAZ_NONE || f->type != ENTITY_PERSON)
                continue;
            if ((len == f->ntok && same_name(t, f->tok, len, a)) ||
                (f->sur_ntok && len == f->sur_ntok && same_name(t, f->sur_tok, len, a) &&
                 !glued(st, t, a, len))) {
                if (add_mention(st, (uint32_t)i, t, a, len) < 0)
                    return -1;
                break;
            }
        }
        resume = b;
    }
    return 0;
}

/* Headline words naming a cue-found person ("Smith resigns"). */
static void link_headline(struct entities *st, const struct tokens *body,
                          const struct tokens *t)
{
    for (size_t a = 0; a < t->n; a++) {
        if (!(t->toks[a].flags & (TOK_CAP | TOK_UPPER)))
            continue;
        for (size_t i = 0; i < st->nfound; i++) {
            struct found *f = &st->found[i];
            if (f->gaz != GAZ_NONE || f->type != ENTITY_PERSON || !f->sur_ntok ||
                a + f->sur_ntok > t->n)
                continue;
            size_t k = 0;
            while (k < f->sur_ntok && t->toks[a + k].hash == body->toks[f->sur_tok + k].hash)
                k++;
            if (k == f->sur_ntok)
                f->in_headline = 1;
        }
    }
}

/* The place the story was filed from. */
static int tag_dateline(struct entities *st, struct record *rec)
{
    const struct tokens *t = &rec->body_toks;
    uint32_t off = rec->dateline_span.off, end = off + rec->dateline_span.len;
    size_t a = 0;

    if (!rec->dateline || !*rec->dateline)
        return 0;
    if (rec->dateline_span.len > 0) {
        while (a < t->n && t->toks[a].off < off)
            a++;
        size_t b = a;
        while (b < t->n && t->toks[b].off + t->toks[b].len <= end)
            b++;
        if (a < b) {
            uint32_t o = st->owner[a];
            if (o && o != OWNER_PENDING) {
                st->found[o - 1].dateline = 1;
                return 0;
            }
        }
        if (a < b && st->conf->unknown_datelines) {
            /* Not in the gazetteer: a place without id, named as written. */
            if (grow((void **)&st->found, &st->cap_found, st->nfound + 1,
                     sizeof(*st->found)) < 0)
                return -1;
            struct found *f = &st->found[st->nfound];
            memset(f, 0, sizeof(*f));
            f->gaz = GAZ_NONE;
            f->type = ENTITY_PLACE;
            f->tok = (uint32_t)a;
            f->ntok = (uint32_t)(b - a);
            f->dateline = 1;
            f->full = 1;
            f->first_off = UINT32_MAX;
            st->nfound++;
            return add_mention(st, (uint32_t)(st->nfound - 1), t, a, b - a);
        }
        return 0;
    }

    /* No span in the body: match the dateline string on its own. */
    struct tokens dt = {0};
    struct phrase_match m[8];
    int rc = 0;
    if (text_tokenize(rec->dateline, strlen(rec->dateline), &dt) < 0)
        return -1;
    size_t nm = dt.n ? phrase_set_match_at(st->gaz->ps, &dt, 0, m, NELEM(m)) : 0;
    for (size_t k = nm; k-- > 0; ) {
        const struct gaz_alias *al = &st->gaz->aliases[m[k].value];
        if (al->kind != GAZ_ALIAS_NAME || m[k].ntok != dt.n)
            continue;
        uint32_t fi;
        if (found_gaz(st, al->entity, (enum entity_type)al->type, &fi) < 0) {
            rc = -1;
            break;
        }
        st->found[fi].dateline = 1;
        st->found[fi].full = 1;
        break;
    }
    text_tokens_free(&dt);
    return rc;
}

/*
 * Orders mentions by entity, then by offset, and sets each entity's
 * nspans and span_start. A counting sort by entity, then an insertion sort
 * inside each group: every pass appended its mentions in text order, so a
 * group is a few sorted runs and the insertion sort is close to linear.
 * Stable, like the merge sort it replaces (qsort was most of emit()).
 */
static int group_mentions(struct entities *st)
{
    size_t nm = st->nm;
    if (nm == 0)
        return 0;
    if (grow((void **)&st->m2, &st->cap_m2, nm, sizeof(*st->m2)) < 0)
        return -1;
    for (size_t i = 0; i < nm; i++)
        st->found[st->m[i].found].nspans++;
    uint32_t at = 0;
    for (size_t i = 0; i < st->nfound; i++) {
        st->found[i].span_start = at;
        at += st->found[i].nspans;
    }
    /* span_start doubles as the fill cursor, then is set back. */
    for (size_t i = 0; i < nm; i++)
        st->m2[st->found[st->m[i].found].span_start++] = st->m[i];
    for (size_t i = 0; i < st->nfound; i++) {
        struct found *f = &st->found[i];
        f->span_start -= f->nspans;
        struct mention *g = &st->m2[f->span_start];
        for (size_t k = 1; k < f->nspans; k++) {
            struct mention x = g[k];
            size_t j = k;
            while (j > 0 && g[j - 1].off > x.off) {
                g[j] = g[j - 1];
                j--;
            }
            g[j] = x;
        }
    }
    struct mention *tm = st->m;
    size_t tc = st->cap_m;
    st->m = st->m2;
    st->cap_m = st->cap_m2;
    st->m2 = tm;
    st->cap_m2 = tc;
    return 0;
}

/* 1 if a goes before b: higher salience, then earlier first mention. */
static inline int salience_before(const struct found *a, const struct found *b)
{
    if (a->salience != b->salience)
        return a->salience > b->salience;
    return a->first_off < b->first_off;
}

static int cmp_salience(const void *x, const void *y)
{
    const struct found *a = *(struct found *const *)x, *b = *(struct found *const *)y;
    return salience_before(a, b) ? -1 : salience_before(b, a) ? 1 : 0;
}

/* Stable sort by salience: insertion sort for the usual few dozen
 * entities, glibc's (merge) qsort beyond. */
static void sort_salience(struct found **v, size_t n)
{
    if (n > 64) {
        qsort(v, n, sizeof(*v), cmp_salience);
        return;
    }
    for (size_t k = 1; k < n; k++) {
        struct found *x = v[k];
        size_t j = k;
        while (j > 0 && salience_before(x, v[j - 1])) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

/* Title-cases a name written in capitals ("KYIV" -> "Kyiv"); ASCII only. */
static char *name_from_text(const char *s, size_t len)
{
    char *out = ws_strndup(s, len);
    if (!out)
        return NULL;
    int upper = 1;
    for (size_t i = 0; i < len; i++)
        if (out[i] >= 'a' && out[i] <= 'z')
            upper = 0;
    if (upper) {
        int start = 1;
        for (size_t i = 0; i < len; i++) {
            char c = out[i];
            int letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
            if (letter && !start && c >= 'A' && c <= 'Z')
                out[i] = (char)(c - 'A' + 'a');
            start = !letter && c != '\'';
        }
    }
    return out;
}

/* strdup() of a string whose length is known. */
static char *dup_len(const char *s, size_t len)
{
    char *d = malloc(len + 1);
    if (d)
        memcpy(d, s, len + 1);
    return d;
}

/* Sorts by salience and appends the entities to rec. */
static int emit(struct entities *st, struct record *rec)
{
    size_t body_len = rec->body_len ? rec->body_len : 1;

    if (group_mentions(st) < 0)
        return -1;
    if (grow((void **)&st->order, &st->cap_order, st->nfound, sizeof(*st->order)) < 0)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < st->nfound; i++) {
        struct found *f = &st->found[i];
        if (f->nspans == 0 && !f->in_headline && !f->dateline)
            continue;
        if (!f->full && f->nspans == 0)
            continue;
        /* Mentions dominate; the headline counts like two more; an early
         * first mention and the dateline break ties. */
        double pos = f->first_off == UINT32_MAX ? 0.0
                     : 1.0 - (double)f->first_off / (double)body_len;
        f->salience = f->nspans + (f->in_headline ? 2.0 : 0.0) + pos +
                      (f->dateline ? 0.5 : 0.0);
        st->order[n++] = f;
    }
    sort_salience(st->order, n);
    if (n > (size_t)st->conf->max_entities)
        n = (size_t)st->conf->max_entities;
    double top = n ? st->order[0]->salience : 1.0;

    /* The entities' records, then their strings: with a big gazetteer each
     * is a likely cache miss, and fetching them all first overlaps them. */
    for (size_t i = 0; i < n; i++)
        if (st->order[i]->gaz != GAZ_NONE)
            __builtin_prefetch(&st->gaz->ents[st->order[i]->gaz]);
    for (size_t i = 0; i < n; i++)
        if (st->order[i]->gaz != GAZ_NONE)
            __builtin_prefetch(st->gaz->ents[st->order[i]->gaz].name);

    for (size_t i = 0; i < n; i++) {
        const struct found *f = st->order[i];
        struct entity *e = record_add_entity(rec);
        if (!e)
            return -1;
        e->type = f->type;
        e->in_headline = f->in_headline;
        e->dateline = f->dateline;
        e->mentions = (uint32_t)f->nspans;   /* body mentions; the headline is in_headline */
        e->salience = top > 0 ? f->salience / top : 0;
        if (f->gaz != GAZ_NONE) {
            const struct gaz_entity *g = &st->gaz->ents[f->gaz];
            e->name = dup_len(g->name, g->name_len);
            e->id = g->id ? dup_len(g->id, g->id_len) : NULL;
            e->role = g->role ? dup_len(g->role, g->role_len) : NULL;
            if (!e->name || (g->id && !e->id) || (g->role && !e->role))
                return -1;
        } else {
            const struct token *a = &rec->body_toks.toks[f->tok];
            const struct token *b = &rec->body_toks.toks[f->tok + f->ntok - 1];
            e->name = name_from_text(rec->body + a->off, b->off + b->len - a->off);
            if (!e->name)
                return -1;
        }
        if (f->nspans) {
            e->spans = malloc(f->nspans * sizeof(*e->spans));
            if (!e->spans)
                return -1;
            for (size_t k = 0; k < f->nspans; k++) {
                e->spans[k].off = st->m[f->span_start + k].off;
                e->spans[k].len = st->m[f->span_start + k].len;
            }
            e->nspans = f->nspans;
        }
        st->entities_out++;
        st->mentions_out += f->nspans;
    }
    return 0;
}

static enum verdict entities_process(void *state, struct record *rec)
{
    struct entities *st = state;

    st->records++;
    st->nfound = st->nm = st->npend = 0;
    memset(st->fmap, 0, (st->fmap_mask + 1) * sizeof(*st->fmap));
    if (!rec->body && !rec->headline)
        return VERDICT_KEEP;
    if (!rec->analyzed && record_analyze(rec) < 0)
        goto fail;
    const struct tokens *body = &rec->body_toks, *head = &rec->head_toks;
    if (grow((void **)&st->owner, &st->cap_owner, body->n + 1, sizeof(*st->owner)) < 0)
        goto fail;
    memset(st->owner, 0, (body->n + 1) * sizeof(*st->owner));

    if (scan_gazetteer(st, body, rec->body, rec->body_len, 0) < 0 ||
        scan_gazetteer(st, head, rec->headline,
                       rec->headline ? strlen(rec->headline) : 0, 1) < 0 ||
        resolve_pending(st, body, head) < 0 || tag_dateline(st, rec) < 0)
        goto fail;
    if (st->conf->person_cues && body->n) {
        if (scan_cues(st, body, rec->body) < 0)
            goto fail;
        /* Both passes only look for people scan_cues() found. */
        if (st->conf->surname_linking && have_cue_people(st)) {
            if (link_people(st, body) < 0)
                goto fail;
            link_headline(st, body, head);
        }
    }
    if (emit(st, rec) < 0)
        goto fail;
    return VERDICT_KEEP;
fail:
    /* Out of memory: a record with some of its entities missing must not
     * be published as if complete; it goes to the dead-letter topic. */
    st->errors++;
    record_reject(rec, "out_of_memory", "out of memory while tagging entities");
    return VERDICT_REJECT;
}

static int entities_reload(void *state, char *err, size_t errlen)
{
    struct entities *st = state;
    char why[512];
    struct gazetteer *g = load_gazetteer(st, why, sizeof(why));

    if (!g) {
        st->reload_failures++;
        snprintf(err, errlen, "entities: %s (keeping the previous gazetteer)", why);
        return -1;
    }
    gazetteer_free(st->gaz);
    st->gaz = g;
    st->reloads++;
    return 0;
}

static void entities_stats(void *state, json_t *out)
{
    const struct entities *st = state;
    json_object_set_new(out, "records", json_integer((json_int_t)st->records));
    json_object_set_new(out, "entities", json_integer((json_int_t)st->entities_out));
    json_object_set_new(out, "mentions", json_integer((json_int_t)st->mentions_out));
    json_object_set_new(out, "cue_people", json_integer((json_int_t)st->cue_people));
    json_object_set_new(out, "gazetteer_entities", json_integer((json_int_t)st->gaz->nents));
    json_object_set_new(out, "gazetteer_aliases", json_integer((json_int_t)st->gaz->naliases));
    json_object_set_new(out, "reloads", json_integer((json_int_t)st->reloads));
    json_object_set_new(out, "reload_failures", json_integer((json_int_t)st->reload_failures));
    json_object_set_new(out, "errors", json_integer((json_int_t)st->errors));
}

const struct processor_ops entities_processor = {
    .name = "entities",
    .summary = "tag people, organizations and places (gazetteer + person cues)",
    .keys = entities_keys,
    .conf_size = sizeof(struct entities_conf),
    .init = entities_init,
    .process = entities_process,
    .tick = NULL,
    .reload = entities_reload,
    .restore = NULL,
    .stats = entities_stats,
    .destroy = entities_destroy,
};
