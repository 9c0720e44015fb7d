/*
 * gen_corpus.c - a synthetic wire corpus for the benchmarks, as JSON Lines.
 *
 * Articles are built from sentence templates and word lists written for
 * this file: datelines, agency credits, officials, quotes, numbers, site
 * boilerplate (ad slots, "Read more:" blocks), typographic quotes and a
 * few diacritics, ninjs-style fields. About --dup-rate of the articles are
 * versions of an earlier story (exact copies, re-sent ids, updates,
 * rewrites, excerpts, copies that only differ by boilerplate), picked from
 * a pool of recent stories so duplicates are spread over hours. Output is
 * a pure function of the options (seed included): the benchmarks and
 * their results can be reproduced byte for byte.
 *
 *   gen_corpus [-n N] [-s SEED] [--min BYTES] [--max BYTES] [--per-day N]
 *              [--dup-rate R] [--start YYYY-MM-DD] [--ids PREFIX] [-o FILE]
 *              [--truth FILE]
 *
 * --truth writes one line per article: id, kind (original, exact, same_id,
 * update, rewrite, excerpt, boilerplate) and the id of the story's first
 * article, tab-separated: the answer key for dedupe accuracy. A summary (articles, duplicates by kind, bytes) goes to stderr.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- deterministic randomness ------------------------------------------------ */

struct rng {
    uint64_t s;
};

static uint64_t rnd(struct rng *r)   /* splitmix64 */
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint32_t rn(struct rng *r, uint32_t n)
{
    return n ? (uint32_t)(((rnd(r) >> 32) * n) >> 32) : 0;
}

static double rf(struct rng *r)
{
    return (double)(rnd(r) >> 11) / 9007199254740992.0;
}

#define PICK(r, arr) ((arr)[rn((r), sizeof(arr) / sizeof((arr)[0]))])

/* ---- growable buffer ---------------------------------------------------------- */

struct buf {
    char *p;
    size_t n, cap;
};

static void grow(struct buf *b, size_t add)
{
    if (b->n + add + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + add + 1)
        cap *= 2;
    char *np = realloc(b->p, cap);
    if (!np) {
        fprintf(stderr, "gen_corpus: out of memory\n");
        exit(1);
    }
    b->p = np;
    b->cap = cap;
}

static void put(struct buf *b, const char *s, size_t n)
{
    grow(b, n);
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void putf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    char tmp[512];
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* JSON string literal (quotes included). Input is valid UTF-8. */
static void put_json_str(struct buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    grow(b, n + n / 8 + 16);
    put(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': put(b, "\\\"", 2); break;
        case '\\': put(b, "\\\\", 2); break;
        case '\n': put(b, "\\n", 2); break;
        case '\t': put(b, "\\t", 2); break;
        default: {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(b, e, 6);
        }
        }
    }
    put(b, s + run, n - run);
    put(b, "\"", 1);
}

/* ---- word lists ----------------------------------------------------------------- */

struct country {
    const char *dateline, *name, *demonym, *capital, *city, *title, *leader, *fm;
};

/* Public office holders are facts; everything said about them here is invented. */
static const struct country countries[] = {
    {"KYIV", "Ukraine", "Ukrainian", "Kyiv", "Kharkiv", "President", "Volodymyr Zelenskyy", "Andrii Sybiha"},
    {"MOSCOW", "Russia", "Russian", "Moscow", "St Petersburg", "President", "Vladimir Putin", "Sergei Lavrov"},
    {"WASHINGTON", "the United States", "American", "Washington", "New York", "President", "Donald Trump", "Marco Rubio"},
    {"LONDON", "Britain", "British", "London", "Manchester", "Prime Minister", "Keir Starmer", "Yvette Cooper"},
    {"PARIS", "France", "French", "Paris", "Marseille", "President", "Emmanuel Macron", "Jean-Noël Barrot"},
    {"BERLIN", "Germany", "German", "Berlin", "Munich", "Chancellor", "Friedrich Merz", "Johann Wadephul"},
    {"WARSAW", "Poland", "Polish", "Warsaw", "Krakow", "Prime Minister", "Donald Tusk", "Radosław Sikorski"},
    {"BEIJING", "China", "Chinese", "Beijing", "Shanghai", "President", "Xi Jinping", "Wang Yi"},
    {"TOKYO", "Japan", "Japanese", "Tokyo", "Osaka", "Prime Minister", "Shigeru Ishiba", "Takeshi Iwaya"},
    {"NEW DELHI", "India", "Indian", "New Delhi", "Mumbai", "Prime Minister", "Narendra Modi", "Subrahmanyam Jaishankar"},
    {"ANKARA", "Turkey", "Turkish", "Ankara", "Istanbul", "President", "Recep Tayyip Erdoğan", "Hakan Fidan"},
    {"JERUSALEM", "Israel", "Israeli", "Jerusalem", "Tel Aviv", "Prime Minister", "Benjamin Netanyahu", "Gideon Saar"},
    {"TEHRAN", "Iran", "Iranian", "Tehran", "Isfahan", "President", "Masoud Pezeshkian", "Abbas Araghchi"},
    {"CAIRO", "Egypt", "Egyptian", "Cairo", "Alexandria", "President", "Abdel Fattah al-Sisi", "Badr Abdelatty"},
    {"RIYADH", "Saudi Arabia", "Saudi", "Riyadh", "Jeddah", "Crown Prince", "Mohammed bin Salman", "Faisal bin Farhan"},
    {"PORT SUDAN", "Sudan", "Sudanese", "Khartoum", "Port Sudan", "army chief", "Abdel Fattah al-Burhan", "Ali Youssef"},
    {"NAIROBI", "Kenya", "Kenyan", "Nairobi", "Mombasa", "President", "William Ruto", "Musalia Mudavadi"},
    {"BRASILIA", "Brazil", "Brazilian", "Brasilia", "Sao Paulo", "President", "Luiz Inácio Lula da Silva", "Mauro Vieira"},
    {"MEXICO CITY", "Mexico", "Mexican", "Mexico City", "Monterrey", "President", "Claudia Sheinbaum", "Juan Ramón de la Fuente"},
    {"SEOUL", "South Korea", "South Korean", "Seoul", "Busan", "President", "Lee Jae-myung", "Cho Hyun"},
    {"CHISINAU", "Moldova", "Moldovan", "Chișinău", "Balti", "President", "Maia Sandu", "Mihai Popșoi"},
    {"BRUSSELS", "Belgium", "Belgian", "Brussels", "Antwerp", "Prime Minister", "Bart De Wever", "Maxime Prévot"},
    {"ROME", "Italy", "Italian", "Rome", "Milan", "Prime Minister", "Giorgia Meloni", "Antonio Tajani"},
    {"OTTAWA", "Canada", "Canadian", "Ottawa", "Toronto", "Prime Minister", "Mark Carney", "Anita Anand"},
    {"VILNIUS", "Lithuania", "Lithuanian", "Vilnius", "Kaunas", "President", "Gitanas Nausėda", "Kęstutis Budrys"},
    {"BEIRUT", "Lebanon", "Lebanese", "Beirut", "Tripoli", "President", "Joseph Aoun", "Youssef Rajji"},
};
#define NCOUNTRIES (sizeof(countries) / sizeof(countries[0]))

static const char *const orgs[] = {
    "NATO", "the European Union", "the United Nations", "the U.N. Security Council",
    "the International Monetary Fund", "the World Bank", "the World Health Organization",
    "the International Atomic Energy Agency", "the African Union", "the Red Cross",
    "the OSCE", "the Group of Seven", "OPEC", "the World Food Programme",
    "the European Commission", "the International Criminal Court", "ASEAN",
};

/* Invented people: spokespeople, analysts, witnesses. */
static const char *const first_names[] = {
    "Maria", "Tomas", "Ayesha", "Daniel", "Olena", "Kenji", "Fatima", "Lukas", "Ingrid",
    "Samuel", "Nadia", "Pieter", "Rosa", "Hamid", "Elif", "Jonas", "Amara", "Viktor",
    "Leila", "Marco", "Sofia", "Tariq", "Hanna", "Diego", "Yusuf", "Clara", "Oksana",
    "Rahul", "Grace", "Mateusz", "Zainab", "Erik", "Camille", "Kwame", "Irina", "Joost",
};
static const char *const last_names[] = {
    "Kovalenko", "Lindqvist", "Okafor", "Brennan", "Haddad", "Moreau", "Takahashi",
    "Petrenko", "Vasquez", "Nowak", "Adeyemi", "Richter", "Castellano", "Farouk",
    "Yilmaz", "Sandoval", "Mensah", "Dubois", "Karimi", "Halvorsen", "Novak", "Osei",
    "Whitfield", "Bianchi", "Rahimi", "Eriksen", "Delacroix", "Tkachenko", "Mwangi",
    "Schuster", "Abara", "Quintero", "Varga", "Lindgren", "Sato", "Mbeki",
};
static const char *const roles[] = {
    "a spokeswoman for the ministry", "a spokesman for the ministry", "a senior official",
    "a government spokesperson", "an adviser to the president", "a regional governor",
    "a military analyst at a London think tank", "an economist at a Frankfurt bank",
    "a diplomat briefed on the talks", "a local council member", "an aid worker",
    "a researcher at an independent institute", "the head of the regional administration",
};
static const char *const agencies[] = {
    "Wirestream", "Global Wire", "Northern Press", "Harbour News",
};
static const char *const weekdays[] = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
};
static const char *const months[] = {
    "Jan", "Feb", "March", "April", "May", "June", "July", "Aug", "Sept", "Oct", "Nov", "Dec",
};

/*
 * Templates. $ codes: L leader, l leader's surname, T leader's title, C
 * country, D demonym, K capital, Y second city, F foreign minister, c/d/m
 * another country/demonym/leader, O organisation, P invented person (new),
 * p their surname, R their role, N small number, B large number, W weekday,
 * A agency, Q/q open/close quote. {a|b|c} picks one alternative.
 */
struct theme {
    const char *name;
    const char *const *heads;
    size_t nheads;
    const char *const *leads;
    size_t nleads;
    const char *const *body;
    size_t nbody;
};

#define ARR(a) a, sizeof(a) / sizeof(a[0])

static const char *const war_heads[] = {
    "{Drone|Missile|Artillery} strikes hit $Y as $D forces {brace for|report} new offensive",
    "$D army says it repelled attack near $Y, $N killed",
    "$L vows to {hold the line|push back} after {overnight|weekend} assault on $Y",
    "{Shelling|Air raids} kill $N civilians in {eastern|southern|northern} $C, officials say",
    "$c sends {air defence systems|artillery shells|armoured vehicles} to $C",
    "Ceasefire talks stall as fighting {intensifies|spreads} around $Y",
};
static const char *const war_leads[] = {
    "$D forces came under {heavy|sustained|renewed} {drone|missile|artillery} fire around $Y on $W, officials said, in one of the {largest|most intense|deadliest} attacks on the region {in weeks|this month|since the spring}.",
    "At least $N people were killed and {dozens|scores|$B} wounded when {missiles|drones|shells} struck {a residential district|a railway station|an apartment block|a market} in $Y {overnight|early on $W|late on $W}, {regional authorities|emergency services|local officials} said.",
    "The $D military said on $W it had {repelled|beaten back|halted} an assault by {several battalions|armoured columns|infantry units} near $Y, {claiming|reporting} heavy losses on the other side.",
};
static const char *const war_body[] = {
    "{Rescue workers|Firefighters|Emergency crews} were still {searching the rubble|clearing debris|pulling survivors} from {two|three|several} collapsed buildings {by nightfall|on $W afternoon|hours after the strike}.",
    "The {air force|defence ministry|general staff} said it had shot down $N of the {drones|missiles} launched {overnight|during the attack}, but several {got through|hit their targets|struck energy facilities}.",
    "{Power|Water|Heating} was {cut|knocked out|disrupted} for {about|more than|nearly} $B households, {the grid operator|the utility|city officials} said, and repairs could take {days|a week|until the weekend}.",
    "Neither side's {claims|casualty figures|battlefield reports} could be {independently verified|confirmed by $A|checked on the ground}.",
    "$D {commanders|officers|troops} {have warned|say} that {shortages of ammunition|a lack of air defence|exhausted units} {leave them exposed|make the front line vulnerable|slow the counteroffensive}.",
    "The {attack|strike|offensive} came {a day after|hours after|shortly after} $F {met|spoke with|held talks with} {counterparts|officials} from $c about {further military aid|security guarantees|a possible ceasefire}.",
    "$O {condemned|expressed alarm at|called for an investigation into} the {strike|attack|shelling}, saying {civilians|hospitals|schools} must never be a target.",
    "{Satellite images|Drone footage|Photographs} {reviewed by $A|released by the army|shared on social media} showed {burned-out vehicles|craters|destroyed bridges} along the road to $Y.",
    "Military analysts said the {fighting|offensive|campaign} around $Y {was likely to|could} {last for weeks|shape the next phase of the war|test the new defensive lines}.",
    "{Thousands|Hundreds} of {residents|families|villagers} have {fled|left} the {area|district|frontline towns} since {the start of the month|the summer|the offensive began}, according to {the United Nations|local authorities|aid groups}.",
    "The {general staff|army command} said it had {recorded|counted} $B {clashes|attacks|combat engagements} along the front in the past {day|24 hours|week}.",
};

static const char *const dip_heads[] = {
    "$L and $m agree to {expand|deepen|restart} {security|trade|energy} cooperation",
    "$F heads to $c for talks on {ceasefire|sanctions|prisoner exchange}",
    "$O {summit|meeting|conference} ends with {pledge|statement|deal} on $C",
    "$D and $d ministers {clash|spar} over {sanctions|border|grain exports}",
    "$c recalls ambassador from $C after {spy row|diplomatic dispute|border incident}",
    "{Talks|Negotiations} on $C {resume|collapse|make progress} in {Geneva|Istanbul|Doha|Vienna}",
};
static const char *const dip_leads[] = {
    "$L and $m agreed on $W to {expand|deepen|restart} cooperation on {security|trade|energy|migration}, after {talks|a meeting|a phone call} that {officials|aides|both governments} described as {constructive|frank|productive}.",
    "$D Foreign Minister $F {arrived in|travelled to|flew to} $c on $W for {talks|meetings|consultations} on {a ceasefire|sanctions relief|a prisoner exchange|grain shipments}, {his|the} ministry said.",
    "{Leaders|Ministers|Envoys} meeting under the auspices of $O {pledged|agreed|promised} on $W to {support|coordinate aid for|keep pressure on} $C, but {stopped short of|failed to agree on|left open} {new commitments|a timetable|financing}.",
};
static const char *const dip_body[] = {
    "The {joint statement|final communique|declaration} {committed|urged|called on} {both sides|all parties|member states} to {respect|uphold|return to} {international law|the ceasefire|earlier agreements}.",
    "$F told reporters {after the meeting|in $K|at a news conference} that {no deal|an agreement|progress} was {within reach|possible before the end of the year|still some way off}.",
    "{Diplomats|Officials|Negotiators} {said|cautioned|stressed} that {the sides remained far apart|the sequencing of steps was unresolved|verification was the main obstacle}.",
    "The {ministry|embassy|government} of $c {said|confirmed} in a statement that {talks|contacts|consultations} would {continue|resume|move to expert level} {next week|in the coming days|after the holidays}.",
    "$m {has said|has repeatedly said|said last month} that {any settlement|a lasting peace|any deal} must {include|guarantee|respect} {security guarantees|territorial integrity|the rights of minorities}.",
    "{Critics|Opposition lawmakers|Some allies} {accused|faulted|criticised} the government of {making concessions|moving too slowly|acting without consultation}.",
    "The {visit|trip|meeting} is the {first|second|latest} by a $D {minister|leader|envoy} to $c {since|in} {the start of the war|2019|more than a decade}.",
    "$O {will|is expected to} {discuss|vote on|review} the {proposal|resolution|plan} at a {meeting|session|summit} in {Brussels|New York|Geneva|Vienna} {next month|in the autumn|later this week}.",
    "{Sanctions|Export controls|Tariffs} imposed {last year|since 2022|in the spring} {remain|will stay} in place {until|unless} {the conditions are met|there is a full withdrawal|the talks succeed}, officials said.",
    "{An exchange|A swap} of {prisoners|detainees|bodies} {took place|was completed|was agreed} {on the border|with mediation by $c|in a neutral country}, the {two sides|governments} said.",
};

static const char *const econ_heads[] = {
    "$D central bank {holds|raises|cuts} rates as inflation {eases|persists|climbs} to $N.$N%",
    "$C economy {grows|shrinks|stalls} in {first|second|third|fourth} quarter",
    "{Oil|Gas|Wheat|Copper} prices {jump|slide|steady} after $O {report|forecast|decision}",
    "$c and $C sign {trade|investment|energy} deal worth $B million dollars",
    "$D {exports|factory output|retail sales} {fall|rise} for $N{rd|th} straight month",
};
static const char *const econ_leads[] = {
    "The $D central bank {held|raised|cut} its {benchmark|key|main} interest rate {to|at} $N.$N% on $W, {citing|pointing to|warning about} {stubborn inflation|weak demand|a slowing labour market}.",
    "$C's economy {grew|shrank|expanded} $N.$N% in the {first|second|third|fourth} quarter from the previous three months, {official data|the statistics office|preliminary figures} showed on $W.",
    "{Oil|Gas|Wheat|Copper} prices {rose|fell|swung} {sharply|more than $N%|in thin trading} on $W after $O {published|released|issued} its {monthly report|latest forecast|demand outlook}.",
};
static const char *const econ_body[] = {
    "{Economists|Analysts|Traders} polled {by $A|before the decision} had {expected|forecast|priced in} {no change|a quarter-point move|a larger cut}.",
    "{Inflation|Core inflation|Consumer prices} {slowed|accelerated|held} at $N.$N% in {the year to|the twelve months to} {March|June|September|December}, {above|below|close to} the bank's target.",
    "$P, $R, said {households|companies|exporters} were {feeling the squeeze|adjusting|holding back on spending} and {predicted|expected|warned of} {a slow recovery|further pressure|weaker growth} {next year|in the coming months}.",
    "The {currency|stock market|bond market} {rallied|fell|was little changed} after the {announcement|data|decision}, with the {benchmark index|main index|ten-year yield} {up|down} $N.$N%.",
    "{Government|Treasury|Finance ministry} officials said the {budget|spending plan|tax package} would {be revised|stay on track|need parliamentary approval} {in the autumn|before the end of the year|next month}.",
    "$O {cut|raised|kept} its {growth forecast|outlook} for $C to $N.$N% for {this year|next year}, {citing|warning of|pointing to} {trade tensions|higher energy costs|weak investment}.",
    "{Exports|Imports|Shipments} to $c {rose|fell|climbed} $N% from a year earlier, {data showed|customs figures showed|the ministry said}.",
    "The {deal|agreement|contract} is worth about $B million {dollars|euros} and {covers|includes|runs until} {liquefied natural gas|port infrastructure|rail links|2030}.",
};

static const char *const pol_heads[] = {
    "$D opposition {wins|claims|disputes} {regional|parliamentary|local} election",
    "$L {reshuffles|overhauls} cabinet amid {protests|scandal|coalition strain}",
    "Thousands protest in $K against {new law|budget cuts|election result}",
    "$D parliament {approves|rejects|delays} {budget|reform|security bill}",
};
static const char *const pol_leads[] = {
    "{Thousands|Tens of thousands} of people {marched|rallied|gathered} in $K on $W to protest against {a new law|budget cuts|the election result|rising prices}, {the largest|one of the biggest} {demonstrations|protests} {in years|since the spring}.",
    "$D lawmakers {approved|rejected|delayed} {the budget|a security bill|a judicial reform} on $W by $B votes to $N, {after a heated debate|in a blow to the government|despite protests outside parliament}.",
    "$L {replaced|dismissed|reshuffled} {several ministers|the finance minister|the interior minister} on $W, {seeking to|in an effort to|hoping to} {shore up|steady|revive} a {fragile|divided|weakened} {coalition|government}.",
};
static const char *const pol_body[] = {
    "{Police|Riot police|Security forces} {used tear gas|detained $N people|blocked roads} {near|around|outside} {parliament|the presidential palace|government buildings}, {witnesses said|according to rights groups|the interior ministry said}.",
    "$P, $R, said the {vote|result|decision} {showed|reflected|confirmed} {deep divisions|growing frustration|a shift in public mood} {over|about} {the economy|corruption|the war}.",
    "{Opinion polls|Recent surveys|Party officials} {suggest|show|say} the {governing party|opposition|coalition} {is losing ground|has gained support|faces a tight race} ahead of {elections|the next vote} {next year|in the spring|in the autumn}.",
    "The {electoral commission|constitutional court|president's office} said it would {review|rule on|publish} the {complaints|final results|appeal} {within $N days|by $W|next week}.",
    "{Turnout|Participation} was $N%, {the electoral commission said|down from the last vote|the highest in two decades}.",
    "$L told {supporters|reporters|parliament} that the government would {press ahead|not back down|listen to the protesters} and {called for|urged|promised} {calm|dialogue|new elections}.",
};

static const char *const dis_heads[] = {
    "{Floods|Wildfires|Earthquake|Storm} {kill|leave} $N {dead|missing|homeless} in $C",
    "{Heatwave|Cyclone|Landslide} {hits|batters|strikes} {southern|northern|eastern} $C",
    "Rescuers search for survivors after {quake|mudslide|building collapse} near $Y",
};
static const char *const dis_leads[] = {
    "{Floods|A powerful storm|Wildfires|An earthquake of magnitude $N.$N} {killed|left} at least $N people {dead|missing} and {forced|displaced} {thousands|$B people} from their homes in {southern|northern|eastern|western} $C, {officials said|the civil protection agency said} on $W.",
    "Rescuers {were searching|dug through the night|used sniffer dogs} for survivors {on $W|overnight} after a {landslide|building collapse|mudslide} {near|outside|in} $Y, {local media|the fire service|the governor} said.",
};
static const char *const dis_body[] = {
    "{Roads|Bridges|Rail lines} {were washed away|were blocked|were closed} and {power|mobile networks|water supplies} {failed|were cut} in {several districts|dozens of villages|parts of the region}.",
    "The {army|civil protection agency|coast guard} {deployed|sent|flew in} {helicopters|boats|$B troops} to {evacuate|reach|supply} {stranded residents|isolated villages|those trapped}.",
    "$P, $R, said {conditions were worsening|the water was still rising|crews were working around the clock} and {urged|asked|warned} residents to {stay indoors|move to higher ground|follow evacuation orders}.",
    "{Meteorologists|Forecasters|The weather service} {warned|said} more {rain|storms|extreme heat} was {expected|likely|on the way} {through the weekend|until $W|in the coming days}.",
    "$O said it was {ready to help|sending emergency supplies|in contact with the authorities} and {appealed|called} for {donations|international support|access for aid workers}.",
    "{Scientists|Climate researchers|Experts} {say|have warned} that {warming|climate change|rising sea temperatures} {makes|is making} such {events|disasters|storms} {more frequent|more intense|harder to predict}.",
};

static const char *const generic_body[] = {
    "$P, $R, told $A that {the situation|the outlook|the mood} {remained tense|was changing quickly|was difficult to read} and that {more details|a decision|an announcement} {would follow|was expected} {on $W|later in the week|in the coming days}.",
    "{Officials|Authorities|The government} in $K {did not respond|declined to comment|could not be reached} {to requests for comment|immediately|on $W}.",
    "{The news|The announcement|The report} {drew|prompted|triggered} {criticism|a sharp reaction|calls for an inquiry} from {opposition parties|rights groups|neighbouring countries}.",
    "{Earlier|Last month|In a separate development}, $c {announced|unveiled|approved} {new measures|a package of support|tighter controls} {aimed at easing|designed to ease|meant to ease} {the crisis|prices|tensions}.",
    "$L {is due to|will|plans to} {visit|travel to|address} {$c|$O|the nation} {next week|at the end of the month|on $W}, {his office|the government|aides} said.",
    "The $D {foreign ministry|embassy|government} {said|stated|wrote} on social media that it was {following developments closely|in contact with partners|ready for dialogue}.",
    "{Under|According to} {the plan|the proposal|the draft}, {funds|troops|inspectors} would be {deployed|released|sent} {in stages|over $N months|by the end of the year}.",
    "{About|Nearly|More than} $B people {have been affected|live in the area|signed a petition}, {according to|said} {local authorities|organisers|the regional government}.",
    "$F is expected to {raise|discuss|address} the {issue|matter|dispute} {with|when meeting} {his|their} $d {counterpart|colleagues} in {Geneva|Brussels|New York|Vienna} {this week|next month}.",
    "{It was not immediately clear|It remained unclear|There was no immediate word on} {who was responsible|how many people were involved|when the measures would take effect}.",
    "{Analysts|Observers|Diplomats} {said|noted|cautioned} that {much would depend on|the outcome hinged on|the key question was} {the response from $c|how $O reacts|whether talks resume}.",
};

static const char *const quotes[] = {
    "$QWe will not {accept|tolerate|allow} {this|any attempt to divide us|pressure of this kind},$q $L said in {a televised address|a statement|a video message}.",
    "$QThis is a {decisive|difficult|critical} moment for {our country|the region|everyone involved},$q $F told reporters in $K.",
    "$QWe are doing everything we can to {help|reach|protect} {the people affected|those who need it|civilians},$q said $P, $R.",
    "$QThe {numbers|figures|signals} {speak for themselves|are worrying|are encouraging},$q $p said. $QBut {nobody|no one} should {expect|assume} {a quick fix|miracles|a turnaround overnight}.$q",
    "$Q{There is no alternative to dialogue|There is still time for a negotiated solution|There is a path to a settlement},$q $m said on $W.",
    "$QWe heard the {explosions|sirens|warnings} {around midnight|before dawn|all night},$q said $P, a {resident|teacher|shopkeeper} in $Y. $QThe whole building was shaking.$q",
    "$QOur {partners|allies|neighbours} must {understand|see|recognise} what is at stake,$q $l said, according to {a transcript|the readout|his office}.",
};

static const struct theme themes[] = {
    {"war", ARR(war_heads), ARR(war_leads), ARR(war_body)},
    {"diplomacy", ARR(dip_heads), ARR(dip_leads), ARR(dip_body)},
    {"economy", ARR(econ_heads), ARR(econ_leads), ARR(econ_body)},
    {"politics", ARR(pol_heads), ARR(pol_leads), ARR(pol_body)},
    {"disaster", ARR(dis_heads), ARR(dis_leads), ARR(dis_body)},
};
#define NTHEMES (sizeof(themes) / sizeof(themes[0]))

static const char *const iptc_codes[][2] = {
    {"16000000", "conflict, war and peace"}, {"11000000", "politics"},
    {"04000000", "economy, business and finance"}, {"11000000", "politics"},
    {"03000000", "disaster, accident and emergency incident"},
};

/* ---- one article ------------------------------------------------------------------ */

struct ctx {
    struct rng *r;
    const struct country *c, *c2;
    const char *agency;
    char person[64];
    const char *surname;
    const char *role;
    int typo;              /* typographic quotes */
    int month, day;
};

static const char *surname_of(const char *full)
{
    const char *sp = strrchr(full, ' ');
    return sp ? sp + 1 : full;
}

static void new_person(struct ctx *x)
{
    const char *f = PICK(x->r, first_names), *l = PICK(x->r, last_names);
    snprintf(x->person, sizeof(x->person), "%s %s", f, l);
    x->surname = l;
    x->role = PICK(x->r, roles);
}

static void expand(struct ctx *x, struct buf *b, const char *t);

static void expand_code(struct ctx *x, struct buf *b, char code)
{
    struct rng *r = x->r;
    switch (code) {
    case 'L': puts_(b, x->c->leader); break;
    case 'l': puts_(b, surname_of(x->c->leader)); break;
    case 'T': puts_(b, x->c->title); break;
    case 'C': puts_(b, x->c->name); break;
    case 'D': puts_(b, x->c->demonym); break;
    case 'K': puts_(b, x->c->capital); break;
    case 'Y': puts_(b, x->c->city); break;
    case 'F': puts_(b, x->c->fm); break;
    case 'c': puts_(b, x->c2->name); break;
    case 'd': puts_(b, x->c2->demonym); break;
    case 'm': puts_(b, x->c2->leader); break;
    case 'O': puts_(b, PICK(r, orgs)); break;
    case 'P': new_person(x); puts_(b, x->person); break;
    case 'p':
        if (!x->surname)
            new_person(x);
        puts_(b, x->surname);
        break;
    case 'R':
        if (!x->role)
            new_person(x);
        puts_(b, x->role);
        break;
    case 'N': putf(b, "%u", 2 + rn(r, 88)); break;
    case 'B': putf(b, "%u", 100 + rn(r, 49900)); break;
    case 'W': puts_(b, PICK(r, weekdays)); break;
    case 'A': puts_(b, x->agency); break;
    case 'Q': puts_(b, x->typo ? "\xe2\x80\x9c" : "\""); break;
    case 'q': puts_(b, x->typo ? "\xe2\x80\x9d" : "\""); break;
    default: put(b, &code, 1);
    }
}

/* Expands a template: $X codes and {a|b|c} alternatives (which may hold
 * $ codes but not other braces). */
static void expand(struct ctx *x, struct buf *b, const char *t)
{
    while (*t) {
        const char *s = t;
        while (*t && *t != '$' && *t != '{')
            t++;
        put(b, s, (size_t)(t - s));
        if (*t == '$') {
            expand_code(x, b, t[1]);
            t += 2;
        } else if (*t == '{') {
            const char *end = strchr(t, '}');
            size_t nalt = 1;
            for (const char *q = t + 1; q < end; q++)
                nalt += *q == '|';
            size_t k = rn(x->r, (uint32_t)nalt);
            const char *a = t + 1;
            while (k--)
                a = strchr(a, '|') + 1;
            const char *ae = a;
            while (ae < end && *ae != '|')
                ae++;
            char tmp[512];
            size_t n = (size_t)(ae - a) < sizeof(tmp) - 1 ? (size_t)(ae - a) : sizeof(tmp) - 1;
            memcpy(tmp, a, n);
            tmp[n] = '\0';
            expand(x, b, tmp);
            t = end + 1;
        }
    }
}

static const char *const related[] = {
    "Explainer: what is at stake in the talks", "Factbox: the key players",
    "Analysis: a long winter ahead", "Timeline: how the crisis unfolded",
    "Markets wrap: stocks edge higher", "In pictures: a week in the region",
};

struct article {
    char *id;
    char *headline;
    char *body;
    size_t body_len;
    int theme;
    int country;
    int version;
    int64_t created_ms;
    char *agency;
};

static void article_free(struct article *a)
{
    free(a->id);
    free(a->headline);
    free(a->body);
    free(a->agency);
    memset(a, 0, sizeof(*a));
}

/*
 * Free sentences from a small grammar: "<subject> <verb> that <thing>
 * <happened> <detail>." Each slot has dozens of fillers, so two unrelated
 * articles share few word trigrams (as real copy does) and the dedupe
 * processor is not flooded with false candidates.
 */
static const char *const g_subj[] = {
    "the interior ministry", "a senior diplomat", "the opposition leader", "regional prosecutors",
    "the central bank governor", "military planners", "union leaders", "the port authority",
    "railway officials", "farm groups", "the health ministry", "hospital directors",
    "border guards", "the coast guard", "energy regulators", "the finance minister",
    "city officials", "school inspectors", "tax officials", "the defence ministry",
    "customs officers", "the state broadcaster", "insurance companies", "local prosecutors",
    "the national airline", "two mining companies", "the grid operator", "refugee agencies",
    "weather forecasters", "police investigators", "$P, $R,", "$L", "$F", "$O", "$p",
    "a parliamentary committee", "the audit office", "shipping firms", "the mayor of $Y",
    "residents of $Y", "the $D embassy in $K", "aid groups working in $c", "$d officials",
};
static const char *const g_verb[] = {
    "said", "warned", "confirmed", "denied", "announced", "acknowledged", "insisted", "argued",
    "estimated", "reported", "predicted", "conceded", "suggested", "signalled", "stressed",
    "claimed", "disclosed", "noted", "complained", "told lawmakers", "wrote in a letter",
    "said on $W", "told a briefing", "said in a filing", "said late on $W", "told local radio",
};
static const char *const g_thing[] = {
    "prices", "the new rules", "shipments", "the inquiry", "repairs", "talks", "negotiations",
    "the reform", "deliveries", "the budget", "fuel supplies", "wages", "the evacuation",
    "ticket sales", "the harvest", "the audit", "investment", "exports", "rents",
    "the truce", "traffic through the port", "the project", "loan payments", "the pipeline",
    "vaccinations", "recruitment", "the strike", "grain exports", "power cuts", "construction",
    "cross-border trade", "the trial", "fishing quotas", "the bridge repairs", "bus services",
    "the water supply", "the census", "school meals", "the licence auction", "arms deliveries",
};
static const char *const g_happened[] = {
    "would resume", "had stalled", "could rise", "were falling", "had doubled",
    "might be delayed", "would continue", "had been suspended", "were recovering",
    "would be reviewed", "remained uncertain", "had slowed", "would expand",
    "were likely to slip", "had surged", "would need more money", "had collapsed",
    "were improving", "would be cut", "had been halted", "could be extended",
    "had fallen short", "were running late", "would be restored", "were under strain",
};
static const char *const g_detail[] = {
    "by $N%", "in $Y", "after the holidays", "within $N weeks", "before the winter",
    "until at least $N March", "across the region", "in the north", "along the border",
    "for the first time since 20$N", "despite the cold", "as costs climb", "by about $B",
    "over the next $N months", "unless funding is found", "in $N districts",
    "after a court ruling", "because of the fighting", "following the storm",
    "as demand weakens", "under pressure from $c", "in talks with $O",
    "for $B households", "at $N border crossings", "in the coming days",
};

static void grammar_sentence(struct ctx *x, struct buf *b)
{
    struct rng *r = x->r;
    struct buf t = {0};
    puts_(&t, PICK(r, g_subj));
    puts_(&t, " ");
    puts_(&t, PICK(r, g_verb));
    puts_(&t, rn(r, 2) ? " that " : " ");
    puts_(&t, PICK(r, g_thing));
    puts_(&t, " ");
    puts_(&t, PICK(r, g_happened));
    puts_(&t, " ");
    puts_(&t, PICK(r, g_detail));
    if (rn(r, 3) == 0) {
        puts_(&t, rn(r, 2) ? ", while " : " and ");
        puts_(&t, PICK(r, g_thing));
        puts_(&t, " ");
        puts_(&t, PICK(r, g_happened));
        puts_(&t, " ");
        puts_(&t, PICK(r, g_detail));
    }
    puts_(&t, ".");
    size_t at = b->n;
    expand(x, b, t.p);
    if (b->p[at] >= 'a' && b->p[at] <= 'z')
        b->p[at] = (char)(b->p[at] - 'a' + 'A');
    free(t.p);
}

/* One sentence, its first letter capitalized ("the OSCE said" opens with "The"). */
static void sentence(struct ctx *x, struct buf *b, const char *t)
{
    size_t at = b->n;
    expand(x, b, t);
    if (b->p[at] >= 'a' && b->p[at] <= 'z')
        b->p[at] = (char)(b->p[at] - 'a' + 'A');
}

/* Body of about `target` bytes. */
static void make_body(struct ctx *x, const struct theme *th, size_t target, struct buf *b)
{
    struct rng *r = x->r;
    if (rn(r, 100) < 88) {
        if (rn(r, 100) < 80)
            putf(b, "%s, %s %d (%s) - ", x->c->dateline, months[x->month], x->day, x->agency);
        else
            putf(b, "%s (%s) \xe2\x80\x94 ", x->c->dateline, x->agency);
    }
    sentence(x, b, th->leads[rn(r, (uint32_t)th->nleads)]);
    int ad_at = rn(r, 100) < 15 ? 2 + (int)rn(r, 4) : -1;
    int follow_at = rn(r, 100) < 8 ? 1 + (int)rn(r, 5) : -1;
    for (int para = 1; b->n < target; para++) {
        puts_(b, "\n\n");
        if (para == ad_at)
            puts_(b, "Advertisement\n\n");
        if (para == follow_at)
            puts_(b, "Follow us on Telegram for the latest updates from the region.\n\n");
        int nsent = 1 + (int)rn(r, 3);
        for (int s = 0; s < nsent; s++) {
            if (s)
                puts_(b, " ");
            uint32_t k = rn(r, 100);
            if (k < 30)
                sentence(x, b, th->body[rn(r, (uint32_t)th->nbody)]);
            else if (k < 42)
                sentence(x, b, PICK(r, quotes));
            else if (k < 50)
                sentence(x, b, PICK(r, generic_body));
            else
                grammar_sentence(x, b);
        }
    }
    if (rn(r, 100) < 12) {
        puts_(b, "\n\nRead more:");
        for (int i = 0, n = 2 + (int)rn(r, 3); i < n; i++) {
            puts_(b, "\n\n");
            puts_(b, PICK(r, related));
        }
    } else if (rn(r, 100) < 5) {
        putf(b, "\n\nCopyright 2025 %s. All rights reserved.", x->agency);
    }
}

/* ---- near-duplicate edits ---------------------------------------------------------- */

struct paras {
    char **p;
    size_t n, cap;
};

static void paras_split(const char *body, struct paras *ps)
{
    ps->n = 0;
    const char *s = body;
    for (;;) {
        const char *e = strstr(s, "\n\n");
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (ps->n == ps->cap) {
            ps->cap = ps->cap ? ps->cap * 2 : 64;
            ps->p = realloc(ps->p, ps->cap * sizeof(*ps->p));
        }
        ps->p[ps->n] = malloc(len + 1);
        memcpy(ps->p[ps->n], s, len);
        ps->p[ps->n][len] = '\0';
        ps->n++;
        if (!e)
            break;
        s = e + 2;
    }
}

static void paras_join(struct paras *ps, struct buf *b)
{
    for (size_t i = 0; i < ps->n; i++) {
        if (!ps->p[i])
            continue;
        if (b->n)
            puts_(b, "\n\n");
        puts_(b, ps->p[i]);
        free(ps->p[i]);
        ps->p[i] = NULL;
    }
}

/* Changes the numbers of a paragraph (casualty counts get revised). */
static void bump_numbers(struct rng *r, char *s)
{
    for (; *s; s++)
        if (*s >= '0' && *s <= '9' && rn(r, 3) == 0)
            *s = (char)('0' + rn(r, 10));
}

enum dup_kind { DUP_EXACT_NEW_ID, DUP_SAME_ID, DUP_UPDATE, DUP_REWRITE, DUP_EXCERPT,
                DUP_BOILERPLATE, DUP_NKINDS };
static const char *const dup_keys[] = {"exact", "same_id", "update", "rewrite",
                                        "excerpt", "boilerplate"};
static const char *const dup_names[] = {"exact copies (new id)", "re-sent ids",
                                         "updates", "rewrites", "excerpts",
                                         "boilerplate-only changes"};

static void make_version(struct ctx *x, const struct article *orig, enum dup_kind kind,
                         struct buf *body, struct buf *head)
{
    struct rng *r = x->r;
    struct paras ps = {0};

    switch (kind) {
    case DUP_EXACT_NEW_ID:
    case DUP_SAME_ID:
        puts_(body, orig->body);
        puts_(head, orig->headline);
        return;
    case DUP_BOILERPLATE:
        paras_split(orig->body, &ps);
        /* Same story, other page furniture: the clean processor makes it
         * an exact duplicate again. */
        ps.p = realloc(ps.p, (ps.n + 2) * sizeof(*ps.p));
        if (ps.n > 2) {
            memmove(ps.p + 2, ps.p + 1, (ps.n - 1) * sizeof(*ps.p));
            ps.p[1] = strdup("Advertisement");
            ps.n++;
        }
        ps.p[ps.n++] = strdup("Sign up for our daily briefing newsletter.");
        ps.cap = ps.n;
        puts_(head, orig->headline);
        break;
    case DUP_UPDATE:
        paras_split(orig->body, &ps);
        if (ps.n > 1)
            bump_numbers(r, ps.p[0]);
        for (int i = 0, n = 1 + (int)rn(r, 2); i < n; i++) {
            struct buf extra = {0};
            sentence(x, &extra, themes[orig->theme].body[rn(r, (uint32_t)themes[orig->theme].nbody)]);
            if (ps.n == ps.cap) {
                ps.cap = ps.cap * 2 + 4;
                ps.p = realloc(ps.p, ps.cap * sizeof(*ps.p));
            }
            size_t at = 1 + rn(r, (uint32_t)ps.n);   /* after the lead at the earliest */
            if (at > ps.n)
                at = ps.n;
            memmove(ps.p + at + 1, ps.p + at, (ps.n - at) * sizeof(*ps.p));
            ps.p[at] = extra.p;
            ps.n++;
        }
        putf(head, "UPDATE %d-%s", orig->version + 1, orig->headline);
        break;
    case DUP_REWRITE:
        paras_split(orig->body, &ps);
        for (size_t i = 0; i < ps.n; i++) {
            if (i > 0 && ps.n > 4 && rn(r, 100) < 15) {
                free(ps.p[i]);
                ps.p[i] = NULL;
            } else if (rn(r, 100) < 30) {
                bump_numbers(r, ps.p[i]);
            }
        }
        if (ps.n > 3) {   /* swap two middle paragraphs */
            size_t a = 1 + rn(r, (uint32_t)ps.n - 2), c = 1 + rn(r, (uint32_t)ps.n - 2);
            char *t = ps.p[a];
            ps.p[a] = ps.p[c];
            ps.p[c] = t;
        }
        putf(head, "%s%s", rn(r, 2) ? "REFILE-" : "", orig->headline);
        break;
    case DUP_EXCERPT:
        paras_split(orig->body, &ps);
        for (size_t i = ps.n * (50 + rn(r, 25)) / 100 + 1; i < ps.n; i++) {
            free(ps.p[i]);
            ps.p[i] = NULL;
        }
        puts_(head, orig->headline);
        break;
    default:
        break;
    }
    paras_join(&ps, body);
    free(ps.p);
}

/* ---- driver ------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: gen_corpus [-n N] [-s SEED] [--min BYTES] [--max BYTES] [--per-day N]\n"
            "                  [--dup-rate R] [--start YYYY-MM-DD] [--ids PREFIX] [-o FILE]\n"
            "                  [--truth FILE]\n"
            "defaults: -n 100000 -s 1 --min 1000 --max 6000 --per-day 20000 --dup-rate 0.3\n"
            "          --start 2025-03-01 --ids bench\n");
    exit(2);
}

static void iso(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int main(int argc, char **argv)
{
    uint64_t n = 100000, seed = 1, per_day = 20000;
    size_t min = 1000, max = 6000;
    double dup_rate = 0.3;
    const char *truth_path = NULL;
    const char *out_path = NULL, *start = "2025-03-01", *prefix = "bench";

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (!strcmp(a, "-n"))
            n = strtoull(v, NULL, 10);
        else if (!strcmp(a, "-s"))
            seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--min"))
            min = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--max"))
            max = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--per-day"))
            per_day = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--dup-rate"))
            dup_rate = strtod(v, NULL);
        else if (!strcmp(a, "--start"))
            start = v;
        else if (!strcmp(a, "--ids"))
            prefix = v;
        else if (!strcmp(a, "-o"))
            out_path = v;
        else if (!strcmp(a, "--truth"))
            truth_path = v;
        else
            usage();
        i++;
    }
    if (max < min || per_day == 0)
        usage();

    struct tm tm = {0};
    if (!strptime(start, "%Y-%m-%d", &tm))
        usage();
    int64_t t_ms = (int64_t)timegm(&tm) * 1000;
    /* Mean gap between articles, in ms; gaps are exponential (Poisson arrivals). */
    double gap_ms = 86400000.0 / (double)per_day;

    FILE *out = out_path ? fopen(out_path, "w") : stdout;
    if (!out) {
        perror(out_path);
        return 1;
    }
    FILE *truth = truth_path ? fopen(truth_path, "w") : NULL;
    if (truth_path && !truth) {
        perror(truth_path);
        return 1;
    }
    struct rng r = {seed * 0x2545F4914F6CDD1DULL + 1};

    /* Recent originals that later articles may repeat. */
    enum { POOL = 16384 };
    struct article *pool = calloc(POOL, sizeof(*pool));
    uint64_t pooled = 0, originals = 0, dups[DUP_NKINDS] = {0};
    uint64_t bytes = 0, body_bytes = 0;
    struct buf line = {0}, body = {0}, head = {0};

    for (uint64_t i = 0; i < n; i++) {
        struct ctx x = {.r = &r};
        double u = rf(&r);
        t_ms += (int64_t)(-gap_ms * log(1.0 - u * 0.999999));
        time_t tt = (time_t)(t_ms / 1000);
        struct tm now;
        gmtime_r(&tt, &now);
        x.month = now.tm_mon;
        x.day = now.tm_mday;
        x.typo = rn(&r, 100) < 25;

        body.n = head.n = 0;
        char idbuf[96];
        const struct article *orig = NULL;
        struct article fresh = {0};
        int kind = -1;

        if (pooled > 16 && rf(&r) < dup_rate) {
            /* Most versions follow within the last few dozen stories; some
             * come back hours later. */
            uint64_t avail = pooled < POOL ? pooled : POOL;
            uint64_t back = rn(&r, 100) < 70 ? 1 + rn(&r, 64) : 1 + rn(&r, (uint32_t)avail);
            if (back > avail)
                back = avail;
            orig = &pool[(pooled - back) % POOL];
            kind = (int)rn(&r, 100);
            kind = kind < 25 ? DUP_EXACT_NEW_ID : kind < 35 ? DUP_SAME_ID
                 : kind < 55 ? DUP_UPDATE : kind < 75 ? DUP_REWRITE
                 : kind < 90 ? DUP_EXCERPT : DUP_BOILERPLATE;
            x.c = &countries[orig->country];
            x.c2 = &countries[(orig->country + 1 + rn(&r, NCOUNTRIES - 1)) % NCOUNTRIES];
            x.agency = orig->agency;
            make_version(&x, orig, (enum dup_kind)kind, &body, &head);
            dups[kind]++;
            if (kind == DUP_SAME_ID)
                snprintf(idbuf, sizeof(idbuf), "%s", orig->id);
            else
                snprintf(idbuf, sizeof(idbuf), "%s-%08llu", prefix, (unsigned long long)i);
        } else {
            int ci = (int)rn(&r, NCOUNTRIES), c2 = (ci + 1 + (int)rn(&r, NCOUNTRIES - 1)) % (int)NCOUNTRIES;
            int th = (int)rn(&r, NTHEMES);
            x.c = &countries[ci];
            x.c2 = &countries[c2];
            x.agency = PICK(&r, agencies);
            /* Body sizes skew short, like wire copy: min + (max-min) * u^1.3. */
            size_t target = min + (size_t)((double)(max - min) * pow(rf(&r), 1.3));
            sentence(&x, &head, themes[th].heads[rn(&r, (uint32_t)themes[th].nheads)]);
            make_body(&x, &themes[th], target, &body);
            snprintf(idbuf, sizeof(idbuf), "%s-%08llu", prefix, (unsigned long long)i);
            fresh.id = strdup(idbuf);
            fresh.headline = strdup(head.p);
            fresh.body = strdup(body.p);
            fresh.body_len = body.n;
            fresh.theme = th;
            fresh.country = ci;
            fresh.version = 0;
            fresh.agency = strdup(x.agency);
            fresh.created_ms = t_ms;
            originals++;
        }

        char created[32], versioned[32];
        iso(t_ms, versioned);
        /* firstcreated: the story's first version (now for originals). */
        iso(orig ? orig->created_ms : t_ms, created);
        const struct country *c = x.c;

        line.n = 0;
        puts_(&line, "{\"id\":");
        put_json_str(&line, idbuf, strlen(idbuf));
        puts_(&line, ",\"type\":\"text\",\"version\":");
        putf(&line, "\"%d\"", orig ? orig->version + 2 : 1);
        putf(&line, ",\"versioncreated\":\"%s\",\"firstcreated\":\"%s\"", versioned, created);
        putf(&line, ",\"urgency\":%u,\"language\":\"en\"", 2 + rn(&r, 4));
        puts_(&line, ",\"headline\":");
        put_json_str(&line, head.p, head.n);
        puts_(&line, ",\"body_text\":");
        put_json_str(&line, body.p, body.n);
        puts_(&line, ",\"source\":");
        put_json_str(&line, x.agency, strlen(x.agency));
        puts_(&line, ",\"located\":");
        put_json_str(&line, c->capital, strlen(c->capital));
        int th = orig ? orig->theme : fresh.theme;
        putf(&line, ",\"subject\":[{\"code\":\"medtop:%s\",\"name\":\"%s\"}]}\n",
             iptc_codes[th][0], iptc_codes[th][1]);
        if (fwrite(line.p, 1, line.n, out) != line.n) {
            perror("gen_corpus: write");
            return 1;
        }
        if (truth)
            fprintf(truth, "%s\t%s\t%s\n", idbuf, orig ? dup_keys[kind] : "original",
                    orig ? orig->id : idbuf);
        bytes += line.n;
        body_bytes += body.n;

        if (!orig) {
            article_free(&pool[pooled % POOL]);
            pool[pooled % POOL] = fresh;
            pooled++;
        } else if (kind == DUP_UPDATE) {
            /* Later versions of an updated story build on the update. */
            ((struct article *)orig)->version++;
        }
    }
    if (fflush(out) != 0 || (out != stdout && fclose(out) != 0)) {
        perror("gen_corpus: write");
        return 1;
    }
    if (truth && fclose(truth) != 0) {
        perror("gen_corpus: truth");
        return 1;
    }
    uint64_t ndup = 0;
    for (int k = 0; k < DUP_NKINDS; k++)
        ndup += dups[k];
    fprintf(stderr, "gen_corpus: %llu articles (%llu originals, %llu versions of earlier stories:",
            (unsigned long long)n, (unsigned long long)originals, (unsigned long long)ndup);
    for (int k = 0; k < DUP_NKINDS; k++)
        fprintf(stderr, "%s %llu %s", k ? "," : "", (unsigned long long)dups[k], dup_names[k]);
    fprintf(stderr, "), %.1f MB, mean body %.0f bytes\n", (double)bytes / 1e6,
            n ? (double)body_bytes / (double)n : 0.0);
    for (size_t i = 0; i < POOL; i++)
        article_free(&pool[i]);
    free(pool);
    free(line.p);
    free(body.p);
    free(head.p);
    return 0;
}
