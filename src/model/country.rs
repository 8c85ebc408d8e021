//! Country of a record, as ISO 3166-1 alpha-2, for the `country` search facet.
//!
//! Library records say where things happened in several vocabularies at once: MARC records code
//! the country of publication with MARC country codes (008/15-17, 044 $a: `cc`, `xxu`, `nyu`,
//! `enk`), while affiliations, meeting places and publisher places name countries (or a few
//! unmistakable cities) in free text, in English, in other European languages or in Chinese.
//! The facet wants one vocabulary, so both are mapped here to upper-case ISO 3166-1 alpha-2
//! codes (`CN`, `TW`, `US`, `GB`...). Kosovo, which ISO has not coded, gets the user-assigned
//! `XK` that the EU and most data sets use.

use std::sync::OnceLock;

/// MARC 21 country code to ISO 3166-1 alpha-2, as `code=ISO` pairs. Codes with no single ISO
/// country (`vp` various places, `xx` unknown, `-cs`, `-yu`, `-xxr`, Paracel/Spratly Islands)
/// are left out on purpose. The last line holds discontinued codes still found in old records.
const MARC_CODES: &str = "
aa=AL abc=CA aca=AU ae=DZ af=AF ag=AR ai=AM aj=AZ aku=US alu=US am=AI an=AD ao=AO aq=AG
aru=US as=AS at=AU au=AT aw=AW ay=AQ azu=US ba=BH bb=BB bcc=CA bd=BI be=BE bf=BS bg=BD
bh=BZ bi=IO bl=BR bm=BM bn=BA bo=BO bp=SB br=MM bs=BW bt=BT bu=BG bv=BV bw=BY bx=BN ca=BQ
cau=US cb=KH cc=CN cd=TD ce=LK cf=CG cg=CD ch=TW ci=HR cj=KY ck=CO cl=CL cm=CM co=CW
cou=US cq=KM cr=CR ctu=US cu=CU cv=CV cw=CK cx=CF cy=CY dcu=US deu=US dk=DK dm=BJ dq=DM
dr=DO ea=ER ec=EC eg=GQ em=TL enk=GB er=EE es=SV et=ET fa=FO fg=GF fi=FI fj=FJ fk=FK
flu=US fm=FM fp=PF fr=FR fs=TF ft=DJ gau=US gb=KI gd=GD gg=GG gh=GH gi=GI gl=GL gm=GM
go=GA gp=GP gr=GR gs=GE gt=GT gu=GU gv=GN gw=DE gy=GY gz=PS hiu=US hm=HM ho=HN ht=HT
hu=HU iau=US ic=IS idu=US ie=IE ii=IN ilu=US im=IM inu=US io=ID iq=IQ ir=IR is=IL it=IT
iv=CI ja=JP je=JE ji=UM jm=JM jo=JO ke=KE kg=KG kn=KP ko=KR ksu=US ku=KW kv=XK kyu=US
kz=KZ lau=US lb=LR le=LB lh=LI li=LT lo=LS ls=LA lu=LU lv=LV ly=LY mau=US mbc=CA mc=MC
mdu=US meu=US mf=MU mg=MG miu=US mj=MS mk=OM ml=ML mm=MT mnu=US mo=ME mou=US mp=MN mq=MQ
mr=MA msu=US mtu=US mu=MR mv=MD mw=MW mx=MX my=MY mz=MZ nbu=US ncu=US ndu=US ne=NL nfc=CA
ng=NE nhu=US nik=GB nju=US nkc=CA nl=NC nmu=US nn=VU no=NO np=NP nq=NI nr=NG nsc=CA ntc=CA
nu=NR nuc=CA nvu=US nw=MP nx=NF nyu=US nz=NZ ohu=US oku=US onc=CA oru=US ot=YT pau=US
pc=PN pe=PE pg=GW ph=PH pic=CA pk=PK pl=PL pn=PA po=PT pp=PG pr=PR pw=PW py=PY qa=QA
qea=AU quc=CA rb=RS re=RE rh=ZW riu=US rm=RO ru=RU rw=RW sa=ZA sc=BL scu=US sd=SS sdu=US
se=SC sf=ST sg=SN sh=ES si=SG sj=SD sl=SL sm=SM sn=SX snc=CA so=SO sp=ES sq=SZ sr=SR
ss=EH st=MF stk=GB su=SA sw=SE sx=NA sy=SY sz=CH ta=TJ tc=TC tg=TG th=TH ti=TN tk=TM tl=TK
tma=AU tnu=US to=TO tr=TT ts=AE tu=TR tv=TV txu=US tz=TZ ua=EG uc=UM ug=UG un=UA up=UM
utu=US uv=BF uy=UY uz=UZ vau=US vb=VG vc=VA ve=VE vi=VI vm=VN vra=AU vtu=US wau=US wea=AU
wf=WF wiu=US wj=PS wk=UM wlk=GB ws=WS wvu=US wyu=US xa=CX xb=CC xc=MV xd=KN xe=MH xf=UM
xga=AU xh=NU xj=SH xk=LC xl=PM xm=VC xn=MK xna=AU xo=SK xoa=AU xr=CZ xra=AU xs=GS xv=SI
xxc=CA xxk=GB xxu=US ye=YE ykc=CA za=ZM
air=AM ajr=AZ bwr=BY cn=CA err=EE ge=DE gsr=GE hk=HK kgr=KG kzr=KZ lir=LT lvr=LV mh=MO
mvr=MD rur=RU tar=TJ tkr=TM uk=GB unr=UA uzr=UZ
";

/// Country names in normalised form (see [`Normalized`]: lower case, no `.` or apostrophes,
/// hyphens as spaces). Entries `ISO name|name|...` are separated by `;` or a new line. The code
/// `--` marks phrases that end in a country name but are not one (`new mexico`): finding one
/// stops the search in that segment.
const NAMES: &str = "
AF afghanistan; AX aland islands|åland islands|åland; AL albania|shqipëria; DZ algeria|algérie
AS american samoa; AD andorra; AO angola; AI anguilla; AQ antarctica
AG antigua and barbuda|antigua; AR argentina|argentine republic|阿根廷; AM armenia; AW aruba
AU australia|commonwealth of australia|new south wales|queensland|tasmania
AU australian capital territory|northern territory|澳大利亚|澳大利亞|澳洲
AT austria|österreich|osterreich|republic of austria|奥地利|奧地利; AZ azerbaijan; BS bahamas|the bahamas
BH bahrain; BD bangladesh|孟加拉国|孟加拉國; BB barbados; BY belarus|byelorussia|白俄罗斯
BE belgium|belgique|belgië|belgie|belgien|比利时|比利時; BZ belize; BJ benin; BM bermuda; BT bhutan
BO bolivia|plurinational state of bolivia
BQ bonaire|caribbean netherlands|bonaire sint eustatius and saba
BA bosnia and herzegovina|bosnia and hercegovina|bosnia herzegovina|bosnia; BW botswana
BV bouvet island; BR brazil|brasil|巴西; IO british indian ocean territory
BN brunei|brunei darussalam|文莱|汶萊; BG bulgaria|保加利亚; BF burkina faso; BI burundi
CV cabo verde|cape verde; KH cambodia|kampuchea|柬埔寨; CM cameroon|cameroun
CA canada|ontario|quebec|québec|british columbia|alberta|manitoba|saskatchewan|nova scotia
CA newfoundland|newfoundland and labrador|prince edward island|加拿大; KY cayman islands
CF central african republic; TD chad|tchad; CL chile|智利
CN china|peoples republic of china|the peoples republic of china|pr china|p r china|prchina|prc
CN mainland china|zhongguo|chung kuo|中国|中國|中华人民共和国|中華人民共和國|中国大陆|中國大陸; CX christmas island
CC cocos islands|cocos keeling islands; CO colombia|哥伦比亚|哥倫比亞; KM comoros
CG congo|republic of the congo|republic of congo|congo republic|congo brazzaville
CD democratic republic of the congo|democratic republic of congo|dr congo|drc|congo kinshasa
CD zaire; CK cook islands; CR costa rica; CI côte divoire|cote divoire|cote d ivoire|ivory coast
HR croatia|hrvatska|克罗地亚; CU cuba|古巴; CW curaçao|curacao; CY cyprus
CZ czech republic|czechia|česko|česká republika|ceska republika|捷克; DK denmark|danmark|丹麦|丹麥
DJ djibouti; DM dominica; DO dominican republic; EC ecuador; EG egypt|arab republic of egypt|埃及
SV el salvador; GQ equatorial guinea; ER eritrea; EE estonia|eesti|爱沙尼亚; SZ eswatini|swaziland
ET ethiopia|埃塞俄比亚; FK falkland islands; FO faroe islands|faeroe islands; FJ fiji
FI finland|suomi|芬兰|芬蘭; FR france|french republic|法国|法國; GF french guiana
PF french polynesia|tahiti; TF french southern territories|french southern and antarctic lands
GA gabon; GM gambia|the gambia; GE georgia|republic of georgia|sakartvelo
DE germany|deutschland|federal republic of germany|bundesrepublik deutschland|west germany
DE east germany|德国|德國; GH ghana|加纳; GI gibraltar; GR greece|hellas|hellenic republic|希腊|希臘
GL greenland; GD grenada; GP guadeloupe; GU guam; GT guatemala|guatemala city; GG guernsey
GN guinea|republic of guinea; GW guinea bissau; GY guyana; HT haiti
HM heard island and mcdonald islands; VA vatican|vatican city|vatican city state|holy see
HN honduras; HU hungary|magyarország|magyarorszag|匈牙利; IS iceland|ísland|冰岛|冰島; IN india|bharat|印度
ID indonesia|印度尼西亚|印度尼西亞|印尼; IR iran|islamic republic of iran|persia|伊朗; IQ iraq|伊拉克
IE ireland|republic of ireland|eire|éire|爱尔兰|愛爾蘭; IM isle of man; IL israel|以色列
IT italy|italia|italie|italien|意大利|義大利; JM jamaica; JP japan|nippon|nihon|日本; JE jersey; JO jordan
KZ kazakhstan|kazakstan|哈萨克斯坦; KE kenya|肯尼亚|肯亞; KI kiribati
KP north korea|democratic peoples republic of korea|democratic peoples republic of|dprk
KP dpr korea|朝鲜|朝鮮
KR korea|south korea|republic of korea|korea republic|korea south|rok|韩国|韓國|南韩|南韓|大韩民国|大韓民國|한국
KR 대한민국; KW kuwait|kuwait city; KG kyrgyzstan|kyrgyz republic|kirghizia
LA laos|lao pdr|lao peoples democratic republic|老挝|寮國; LV latvia|拉脱维亚; LB lebanon; LS lesotho
LR liberia; LY libya; LI liechtenstein; LT lithuania|立陶宛; LU luxembourg|卢森堡|盧森堡; MG madagascar
MW malawi; MY malaysia|马来西亚|馬來西亞; MV maldives; ML mali; MT malta; MH marshall islands
MQ martinique; MR mauritania; MU mauritius; YT mayotte
MX mexico|méxico|mexico city|united mexican states|墨西哥
FM micronesia|federated states of micronesia; MD moldova|republic of moldova; MC monaco
MN mongolia|蒙古国|蒙古國; ME montenegro; MS montserrat; MA morocco|maroc|摩洛哥; MZ mozambique
MM myanmar|burma|缅甸|緬甸; NA namibia; NR nauru; NP nepal|尼泊尔|尼泊爾
NL netherlands|the netherlands|holland|nederland|kingdom of the netherlands|荷兰|荷蘭
NC new caledonia|nouvelle calédonie; NZ new zealand|aotearoa|新西兰|新西蘭|紐西蘭; NI nicaragua; NE niger
NG nigeria|尼日利亚|奈及利亞; NU niue; NF norfolk island
MK north macedonia|republic of north macedonia|macedonia|fyrom; MP northern mariana islands
NO norway|norge|noreg|挪威; OM oman; PK pakistan|巴基斯坦; PW palau
PS palestine|state of palestine|palestinian territories|occupied palestinian territory|west bank
PS gaza|gaza strip; PA panama; PG papua new guinea; PY paraguay; PE peru|perú|秘鲁|秘魯
PH philippines|the philippines|菲律宾|菲律賓; PN pitcairn|pitcairn islands; PL poland|polska|波兰|波蘭
PT portugal|葡萄牙; PR puerto rico; QA qatar; RE réunion|reunion
RO romania|românia|roumania|rumania|罗马尼亚|羅馬尼亞; RU russia|russian federation|россия|俄罗斯|俄羅斯
RW rwanda; BL saint barthélemy|saint barthelemy|st barthelemy; SH saint helena|st helena
KN saint kitts and nevis|st kitts and nevis; LC saint lucia|st lucia; MF saint martin|st martin
PM saint pierre and miquelon|st pierre and miquelon
VC saint vincent and the grenadines|st vincent and the grenadines; WS samoa|western samoa
SM san marino; ST sao tome and principe|são tomé and príncipe
SA saudi arabia|kingdom of saudi arabia|ksa|沙特阿拉伯|沙烏地阿拉伯; SN senegal; RS serbia|塞尔维亚; SC seychelles
SL sierra leone; SG singapore|新加坡; SX sint maarten; SK slovakia|slovak republic|斯洛伐克
SI slovenia|斯洛文尼亚; SB solomon islands; SO somalia; ZA south africa|republic of south africa|南非
GS south georgia and the south sandwich islands; SS south sudan
ES spain|españa|espana|kingdom of spain|西班牙; LK sri lanka|ceylon|斯里兰卡; SD sudan
SR suriname|surinam; SJ svalbard and jan mayen|svalbard; SE sweden|sverige|瑞典
SY syria|syrian arab republic; CH switzerland|schweiz|suisse|svizzera|swiss confederation|瑞士
TW taiwan|republic of china|roc|taiwan roc|chinese taipei|taiwan province of china|台湾|臺灣|台灣|中华民国
TW 中華民國|中国台湾|中國臺灣; TJ tajikistan; TZ tanzania|united republic of tanzania|坦桑尼亚; TH thailand|泰国|泰國
TL timor leste|east timor; TG togo; TK tokelau; TO tonga; TT trinidad and tobago|trinidad
TN tunisia|突尼斯; TM turkmenistan; TR turkey|türkiye|turkiye|republic of turkey|土耳其
TC turks and caicos islands; TV tuvalu; UG uganda; UA ukraine|україна|乌克兰|烏克蘭
AE united arab emirates|uae|阿联酋|阿聯酋|阿拉伯联合酋长国
GB united kingdom|uk|great britain|britain|england|scotland|wales|northern ireland
GB united kingdom of great britain and northern ireland|英国|英國|英格兰|英格蘭|苏格兰|蘇格蘭|威尔士|威爾斯
US united states|united states of america|usa|us|美国|美國; UM united states minor outlying islands
UY uruguay; UZ uzbekistan; VU vanuatu; VE venezuela|委内瑞拉|委內瑞拉; VN vietnam|viet nam|越南
VG british virgin islands
VI us virgin islands|united states virgin islands|virgin islands of the united states
WF wallis and futuna; EH western sahara; YE yemen; ZM zambia; ZW zimbabwe; XK kosovo
HK hong kong|hongkong|hong kong sar|hksar|hong kong china|hong kong sar china|xianggang|kowloon
HK 香港|中国香港|中國香港; MO macao|macau|macao sar|macau sar|macao china|macau china|aomen|澳门|澳門|中国澳门|中國澳門
-- new mexico|new jersey|new england|new guinea|new brunswick|university of georgia
";

/// Cities that stand for their country in publisher places and addresses and are not also the
/// name of a well-known place elsewhere (no Paris, London, Cambridge or Moscow), same format.
const CITIES: &str = "
CN beijing|beijing shi|peking|pei ching|shanghai|shanghai shi|tianjin|chongqing|guangzhou
CN shenzhen|nanjing|wuhan|chengdu|hangzhou|xian|harbin
CN 北京|上海|天津|重庆|重慶|广州|廣州|深圳|南京|武汉|武漢|成都|杭州|西安
TW taipei|taipei city|taibei|taibei shi|tai pei|tai pei shih|台北|臺北; JP tokyo|東京|东京; KR seoul|首尔|首爾
";

/// `(key, ISO code)` sorted by key, plus the CJK keys longest first for prefix matching.
struct NameIndex {
    sorted: Vec<(&'static str, &'static str)>,
    cjk_longest_first: Vec<(&'static str, &'static str)>,
}

fn parse_entries(table: &'static str) -> impl Iterator<Item = (&'static str, &'static str)> {
    table.split([';', '\n']).filter_map(|entry| entry.trim().split_once(' ')).flat_map(|(code, names)| {
        let code = if code == "--" { "" } else { code };
        names.split('|').map(move |name| (name.trim(), code))
    })
}

fn marc_index() -> &'static [(&'static str, &'static str)] {
    static INDEX: OnceLock<Vec<(&'static str, &'static str)>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut v: Vec<_> = MARC_CODES.split_whitespace().filter_map(|pair| pair.split_once('=')).collect();
        v.sort_unstable();
        v
    })
}

fn name_index() -> &'static NameIndex {
    static INDEX: OnceLock<NameIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut sorted: Vec<_> = parse_entries(NAMES).chain(parse_entries(CITIES)).collect();
        sorted.sort_unstable();
        let mut cjk_longest_first: Vec<_> = sorted.iter().copied().filter(|(k, _)| k.chars().any(is_cjk)).collect();
        cjk_longest_first.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(b.0)));
        NameIndex { sorted, cjk_longest_first }
    })
}

fn search(table: &[(&'static str, &'static str)], key: &str) -> Option<&'static str> {
    table.binary_search_by(|(k, _)| (*k).cmp(key)).ok().and_then(|i| table.get(i)).map(|(_, code)| *code)
}

/// MARC 21 country code (008/15-17 or 044 $a, e.g. "cc", "xxu", "nyu", "enk", "ch", "ja") to
/// ISO 3166-1 alpha-2. Trims spaces and '|' fill characters, case-insensitive. US state codes
/// (`nyu`, `cau`, ..., and `xxu`) map to "US", Canadian province codes (`onc`, `quc`, ..., `xxc`)
/// to "CA", UK codes (`enk`, `stk`, `wlk`, `nik`, `xxk`) to "GB", Australian state codes
/// (`aca`, `qea`, `vra`, ..., and `at`) to "AU"; `cc` is "CN" and `ch` (China (Republic :
/// 1949- )) is "TW". Returns None for unknown codes and for `xx` (unknown) and `vp` (various).
pub fn from_marc_code(code: &str) -> Option<&'static str> {
    let code = code.trim_matches(|c: char| c == '|' || c == '#' || c.is_whitespace());
    if code.is_empty() || code.len() > 3 || !code.is_ascii() {
        return None;
    }
    let mut buf = [0u8; 3];
    for (dst, src) in buf.iter_mut().zip(code.bytes()) {
        *dst = src.to_ascii_lowercase();
    }
    let key = std::str::from_utf8(buf.get(..code.len())?).ok()?;
    search(marc_index(), key)
}

/// Finds a country named in free text such as an affiliation ("Institute of Zoology, Chinese
/// Academy of Sciences, Beijing, China"), a meeting place ("Chengdu, China") or a publisher
/// place ("Taibei Shi"). Looks at the comma/semicolon/parenthesis-separated segments from the
/// last one backwards and returns the first that is (or whose last words are) a country name,
/// case-insensitive, ignoring surrounding punctuation. Knows English short names and common
/// variants ("USA", "P.R. China", "Republic of Korea", "Türkiye"), some native names
/// ("Deutschland", "España"), Chinese names (simplified and traditional; a segment that starts
/// with one, like 中国科学院, counts too) and a few unambiguous cities ("Beijing", "Taibei Shi").
/// "Hong Kong, China", "Macao, China" and "Taiwan, China" give HK, MO and TW.
/// Returns None when nothing is found. Does not allocate (after the first call builds the
/// index) and never panics.
pub fn from_text(text: &str) -> Option<&'static str> {
    let text = before_electronic_address(text);
    let mut segments = text.rsplit(is_separator);
    while let Some(segment) = segments.next() {
        let Some(code) = segment_country(segment) else {
            continue;
        };
        if code == "CN" {
            // "Hong Kong, China", "Taipei, Taiwan, China": the region one segment up wins.
            let previous = segments.clone().find(|s| !trim_segment(s).is_empty());
            if let Some(region @ ("HK" | "MO" | "TW")) = previous.and_then(segment_country) {
                return Some(region);
            }
        }
        return Some(code);
    }
    None
}

/// PubMed affiliations end in ". Electronic address: someone@example.org": the text before
/// "Electronic address" (or, failing that, "electronic address"). One search, made once for
/// both spellings: every affiliation of every record goes through it.
fn before_electronic_address(text: &str) -> &str {
    static MARKER: OnceLock<memchr::memmem::Finder<'static>> = OnceLock::new();
    let marker = MARKER.get_or_init(|| memchr::memmem::Finder::new("lectronic address"));
    let bytes = text.as_bytes();
    let mut lower_case = None;
    for at in marker.find_iter(bytes) {
        match at.checked_sub(1).map(|before| (before, bytes[before])) {
            Some((before, b'E')) => return text.get(..before).unwrap_or(text),
            Some((before, b'e')) => lower_case = lower_case.or(Some(before)),
            _ => {}
        }
    }
    lower_case.and_then(|before| text.get(..before)).unwrap_or(text)
}

fn is_separator(c: char) -> bool {
    matches!(c, ',' | ';' | '(' | ')' | '，' | '；' | '（' | '）' | '、')
}

fn trim_segment(segment: &str) -> &str {
    segment
        .trim_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation() || "。：【】「」『』《》“”‘’".contains(c))
}

fn is_cjk(c: char) -> bool {
    // Kana, CJK ideographs (with extension A), Hangul syllables, compatibility ideographs.
    matches!(c, '\u{3040}'..='\u{30ff}' | '\u{3400}'..='\u{9fff}')
        || matches!(c, '\u{ac00}'..='\u{d7af}' | '\u{f900}'..='\u{faff}')
}

/// Normalised bytes kept per segment; when a segment is longer, its front is dropped.
const BUF_LEN: usize = 256;
/// Longest country name in words ("united kingdom of great britain and northern ireland").
const MAX_WORDS: usize = 8;

fn segment_country(segment: &str) -> Option<&'static str> {
    let segment = trim_segment(segment);
    if segment.is_empty() {
        return None;
    }
    let index = name_index();
    let norm = Normalized::new(segment);
    let text = norm.as_str();
    // Word starts from the last word backwards; phrases are then tried longest first.
    let mut starts = [0usize; MAX_WORDS];
    let mut count = 0;
    let mut end = text.len();
    while count < MAX_WORDS {
        match text.get(..end).and_then(|s| s.rfind(' ')) {
            Some(space) => {
                starts[count] = space + 1;
                count += 1;
                end = space;
            }
            None => {
                // A cut-off first word is only a fragment.
                if !norm.truncated {
                    starts[count] = 0;
                    count += 1;
                }
                break;
            }
        }
    }
    for &start in starts.get(..count).unwrap_or_default().iter().rev() {
        if let Some(code) = text.get(start..).and_then(|phrase| search(&index.sorted, phrase)) {
            return if code.is_empty() { None } else { Some(code) };
        }
    }
    // Chinese names open institution names: 中国科学院, 北京大学, 台湾大学.
    index
        .cjk_longest_first
        .iter()
        .find(|(key, _)| segment.starts_with(key))
        .map(|(_, code)| *code)
        .filter(|code| !code.is_empty())
}

/// A segment lower-cased into a stack buffer, with `.`, apostrophes and combining accents
/// dropped, `&` written as `and` and any other run of non-alphanumerics turned into one space.
struct Normalized {
    buf: [u8; BUF_LEN],
    len: usize,
    pending_space: bool,
    /// The front of the segment did not fit and was dropped.
    truncated: bool,
}

impl Normalized {
    fn new(segment: &str) -> Self {
        let mut norm = Normalized { buf: [0; BUF_LEN], len: 0, pending_space: false, truncated: false };
        for c in segment.chars() {
            match c {
                // Most affiliations are ASCII: no Unicode tables for them.
                'a'..='z' | '0'..='9' => norm.push(c),
                'A'..='Z' => norm.push(c.to_ascii_lowercase()),
                '.' | '\'' | '’' | '‘' | '`' | 'ʼ' | 'ʻ' | '\u{300}'..='\u{36f}' => {}
                '&' => {
                    norm.pending_space = true;
                    "and".chars().for_each(|a| norm.push(a));
                    norm.pending_space = true;
                }
                c if c.is_alphanumeric() => c.to_lowercase().for_each(|lower| norm.push(lower)),
                _ => norm.pending_space = true,
            }
        }
        norm
    }

    fn push(&mut self, c: char) {
        let mut utf8 = [0u8; 4];
        let bytes = c.encode_utf8(&mut utf8).as_bytes();
        if self.len + 1 + bytes.len() > BUF_LEN {
            self.drop_front();
        }
        if self.pending_space
            && self.len > 0
            && let Some(b) = self.buf.get_mut(self.len)
        {
            *b = b' ';
            self.len += 1;
        }
        self.pending_space = false;
        if let Some(dst) = self.buf.get_mut(self.len..self.len + bytes.len()) {
            dst.copy_from_slice(bytes);
            self.len += bytes.len();
        }
    }

    /// Drops at least half the buffer, cutting after a space so that what stays is whole words
    /// (or nothing, if the second half is a single word).
    fn drop_front(&mut self) {
        let half = BUF_LEN / 2;
        let cut = self
            .buf
            .get(half..self.len)
            .and_then(|rest| rest.iter().position(|&b| b == b' '))
            .map_or(self.len, |p| half + p + 1);
        self.buf.copy_within(cut..self.len, 0);
        self.len -= cut;
        self.truncated = true;
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(self.buf.get(..self.len).unwrap_or_default()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marc_codes() {
        assert_eq!(from_marc_code("cc"), Some("CN"));
        assert_eq!(from_marc_code("ch"), Some("TW"));
        assert_eq!(from_marc_code("xxu"), Some("US"));
        assert_eq!(from_marc_code("nyu"), Some("US"));
        assert_eq!(from_marc_code("cau"), Some("US"));
        assert_eq!(from_marc_code("enk"), Some("GB"));
        assert_eq!(from_marc_code("stk"), Some("GB"));
        assert_eq!(from_marc_code("onc"), Some("CA"));
        assert_eq!(from_marc_code("xxc"), Some("CA"));
        assert_eq!(from_marc_code("vra"), Some("AU"));
        assert_eq!(from_marc_code("at"), Some("AU"));
        assert_eq!(from_marc_code("gw"), Some("DE"));
        assert_eq!(from_marc_code("ja"), Some("JP"));
        assert_eq!(from_marc_code("ko"), Some("KR"));
        assert_eq!(from_marc_code("kn"), Some("KP"));
        assert_eq!(from_marc_code("ii"), Some("IN"));
        assert_eq!(from_marc_code("sz"), Some("CH"));
        assert_eq!(from_marc_code("cc "), Some("CN"));
        assert_eq!(from_marc_code("CC|"), Some("CN"));
        assert_eq!(from_marc_code(" ru"), Some("RU"));
        assert_eq!(from_marc_code("zz?"), None);
        assert_eq!(from_marc_code("|||"), None);
        assert_eq!(from_marc_code(""), None);
        assert_eq!(from_marc_code("xx"), None);
        assert_eq!(from_marc_code("vp"), None);
        assert_eq!(from_marc_code("nyuu"), None);
        assert_eq!(from_marc_code("中国"), None);
    }

    #[test]
    fn marc_table_is_consistent() {
        let index = marc_index();
        assert!(index.len() > 300, "{}", index.len());
        for pair in index.windows(2) {
            assert_ne!(pair[0].0, pair[1].0, "duplicate MARC code");
        }
        for (code, iso) in index {
            assert!((2..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_lowercase()));
            assert!(iso.len() == 2 && iso.bytes().all(|b| b.is_ascii_uppercase()), "{code}");
        }
        let us_states = index.iter().filter(|(c, iso)| c.len() == 3 && c.ends_with('u') && *iso == "US");
        assert_eq!(us_states.count(), 52); // 50 states, DC and xxu
    }

    #[test]
    fn name_table_is_consistent() {
        let index = name_index();
        for pair in index.sorted.windows(2) {
            assert_ne!(pair[0].0, pair[1].0, "duplicate name");
        }
        for (name, iso) in &index.sorted {
            assert_eq!(Normalized::new(name).as_str(), *name, "key not normalised");
            assert!(iso.is_empty() || (iso.len() == 2 && iso.bytes().all(|b| b.is_ascii_uppercase())));
        }
        // Every code the MARC table knows has an English name here too.
        for (_, iso) in marc_index() {
            assert!(index.sorted.iter().any(|(_, c)| c == iso), "no name for {iso}");
        }
    }

    #[test]
    fn free_text() {
        let cases = [
            ("Institute of Zoology, Chinese Academy of Sciences, Beijing, China", Some("CN")),
            ("Chengdu, China", Some("CN")),
            ("Taibei Shi", Some("TW")),
            ("Taibei Shi :", Some("TW")),
            ("Beijing 100101 China", Some("CN")),
            ("Department of Physics, University of Tokyo, Tokyo 113-0033, Japan", Some("JP")),
            ("北京大学, 中国", Some("CN")),
            ("中国科学院动物研究所", Some("CN")),
            ("國立臺灣大學，臺灣", Some("TW")),
            ("Harvard University, Cambridge, MA, USA", Some("US")),
            ("Dept. of Chemistry, MIT, Cambridge, MA 02139, U.S.A.", Some("US")),
            ("Institut Pasteur, Paris, France.", Some("FR")),
            ("Max Planck Institute, Leipzig (Deutschland)", Some("DE")),
            ("Oxford, UK", Some("GB")),
            ("University of Edinburgh, Edinburgh, Scotland", Some("GB")),
            ("KAIST, Daejeon, Republic of Korea", Some("KR")),
            ("Pyongyang, Democratic People's Republic of Korea", Some("KP")),
            ("Seoul National University; South Korea]", Some("KR")),
            ("Fudan University, Shanghai 200433, P.R. China", Some("CN")),
            ("Beijing 100049, China. Electronic address: x@ucas.ac.cn.", Some("CN")),
            ("Peking University, Beijing, People’s Republic of China", Some("CN")),
            ("The University of Hong Kong, Pokfulam, Hong Kong", Some("HK")),
            ("City University of Hong Kong, Kowloon, Hong Kong SAR, China", Some("HK")),
            ("University of Macau, Taipa, Macao", Some("MO")),
            ("Academia Sinica, Taipei, Taiwan", Some("TW")),
            ("Taiwan, Province of China", Some("TW")),
            ("Shatin, N.T., Hong Kong, China", Some("HK")),
            ("Ankara, Türkiye", Some("TR")),
            ("ISTANBUL, TURKEY", Some("TR")),
            ("Sydney, New South Wales", Some("AU")),
            ("Las Cruces, New Mexico", None),
            ("Abidjan, Côte d'Ivoire", Some("CI")),
            ("Abidjan, Co\u{302}te d'Ivoire", Some("CI")),
            ("Port of Spain, Trinidad & Tobago", Some("TT")),
            ("东京大学, 日本", Some("JP")),
            ("no country here", None),
            ("", None),
            (",,, ;() ", None),
            ("Moscow, Idaho", None),
        ];
        for (text, expected) in cases {
            assert_eq!(from_text(text), expected, "{text:?}");
        }
    }

    #[test]
    fn never_panics() {
        let long = format!("{}, Germany", "Ü&İ".repeat(200));
        assert_eq!(from_text(&long), Some("DE"));
        let long_segment = format!("{} China", "İ&".repeat(300));
        assert_eq!(from_text(&long_segment), Some("CN"));
        for text in ["İ", "&&&&", "\u{300}", "(", "中", "Ａ", "a b c d e f g h i j k", "🇨🇳"] {
            let _ = from_text(text);
            let _ = from_marc_code(text);
        }
    }
}
