"""A small bilingual memory set, written for Clawling (no text copied from elsewhere).

Facts a person states in conversation, each asked later in other words, in Chinese and
the same facts in English, plus a few in Japanese and Korean. Small talk is mixed in
between, some of it sharing words with the facts, so a search must pick the right line.
Used by bench/memory_recall.py (`--set multilingual`).
"""

from __future__ import annotations

# (fact in Chinese, asked in Chinese, the same fact in English, asked in English)
PAIRS = [
    ("我下周三要去上海出差，住在外滩旁边。", "我什么时候去上海？",
     "I'm flying to Shanghai for work next Wednesday, staying by the Bund.", "When is my Shanghai trip?"),
    ("我对花生过敏，吃了会起疹子。", "我对什么东西过敏？",
     "I'm allergic to peanuts, they give me a rash.", "What food am I allergic to?"),
    ("我妈妈的生日是十月十五号。", "我妈妈哪天过生日？",
     "My mum's birthday is on the fifteenth of October.", "When does my mother celebrate her birthday?"),
    ("我的牙医姓王，诊所在人民路。", "我的牙医叫什么？",
     "My dentist is Dr Wang, his clinic is on Renmin Road.", "Who is my dentist?"),
    ("我女儿在学钢琴，每周六上课。", "我女儿学什么乐器？",
     "My daughter is learning piano, lessons every Saturday.", "Which instrument does my daughter play?"),
    ("我的车是一辆白色的丰田。", "我开什么车？",
     "My car is a white Toyota.", "What car do I drive?"),
    ("我每天早上六点去跑步。", "我几点锻炼身体？",
     "I go running every morning at six.", "What time do I exercise?"),
    ("我的猫叫小白，今年三岁。", "我的宠物叫什么名字？",
     "My cat is called Xiaobai and she is three.", "What is my pet's name?"),
    ("公司年会定在一月二十号，在香格里拉酒店。", "年会在哪里办？",
     "The company party is on January 20th at the Shangri-La hotel.", "Where is the annual party held?"),
    ("我最喜欢的菜是麻婆豆腐。", "我爱吃哪道菜？",
     "My favourite dish is mapo tofu.", "Which dish do I love most?"),
    ("我弟弟在深圳做程序员。", "我弟弟做什么工作？",
     "My younger brother works as a programmer in Shenzhen.", "What does my brother do for a living?"),
    ("我的护照明年三月到期。", "护照什么时候过期？",
     "My passport expires next March.", "When does my passport run out?"),
    ("周五下午三点要和李经理开会。", "我和谁有会议？",
     "On Friday at 3 pm I have a meeting with manager Li.", "Who am I meeting with?"),
    ("我在学日语，准备明年考N2。", "我在准备什么考试？",
     "I'm studying Japanese to sit the N2 exam next year.", "Which exam am I preparing for?"),
    ("我家的Wi-Fi密码贴在冰箱上。", "无线网络密码在哪？",
     "Our Wi-Fi password is stuck on the fridge.", "Where can I find the wireless password?"),
    ("我不喝咖啡，只喝绿茶。", "我平时喝什么饮料？",
     "I don't drink coffee, only green tea.", "What do I usually drink?"),
    ("我爸爸上个月做了膝盖手术。", "谁做了手术？",
     "My dad had knee surgery last month.", "Who had an operation?"),
    ("我们打算七月去云南旅游。", "暑假去哪里玩？",
     "We plan to travel to Yunnan in July.", "Where are we going on the summer holiday?"),
    ("我的房租每月五千块，十号交。", "房租多少钱？",
     "My rent is five thousand a month, due on the tenth.", "How much rent do I pay?"),
    ("我儿子的班主任是张老师。", "孩子的老师是谁？",
     "My son's class teacher is Ms Zhang.", "Who teaches my son?"),
    ("我戴隐形眼镜，度数是五百度。", "我的视力怎么样？",
     "I wear contact lenses, minus five.", "How bad is my eyesight?"),
    ("我在读《三体》，快读完了。", "我最近看什么书？",
     "I'm reading The Three-Body Problem, almost finished.", "What book am I reading?"),
    ("我的血型是O型。", "我是什么血型？",
     "My blood type is O.", "Which blood group am I?"),
    ("我们结婚纪念日是五月二十号。", "结婚纪念日是哪天？",
     "Our wedding anniversary is May 20th.", "When is our anniversary?"),
]  # fmt: skip

# (fact, asked in other words)
JAPANESE = [
    ("東京の友達と寿司を食べに行きました。", "誰とお寿司を食べた？"),
    ("来週の月曜日に歯医者の予約があります。", "歯医者はいつ？"),
    ("娘は大阪の大学で化学を勉強しています。", "娘の専攻は何？"),
    ("私はそばアレルギーです。", "何のアレルギーがある？"),
    ("車は青いホンダのフィットです。", "どんな車に乗っている？"),
    ("毎朝七時に犬の散歩をします。", "犬の散歩は何時？"),
]  # fmt: skip

KOREAN = [
    ("다음 주 토요일에 부산에서 친구 결혼식이 있어요.", "결혼식은 어디에서 해요?"),
    ("저는 새우 알레르기가 있어요.", "무슨 알레르기가 있어요?"),
    ("제 동생은 서울에서 간호사로 일해요.", "동생 직업이 뭐예요?"),
    ("매주 수요일 저녁에 요가를 해요.", "요가는 언제 해요?"),
    ("우리 강아지 이름은 초코예요.", "강아지 이름이 뭐예요?"),
    ("제 생일은 팔월 삼일이에요.", "생일이 언제예요?"),
]  # fmt: skip

# Small talk between the facts, in each language.
SMALL_TALK = {
    "zh": [
        "今天天气不错，我们去公园散步了。", "晚上吃什么好呢？", "刚看完一部电影，挺好看的。",
        "最近工作有点忙，每天加班。", "明天可能会下雨，记得带伞。", "周末想在家休息一下。",
        "我朋友推荐了一家新开的餐厅。", "地铁今天特别挤。", "手机快没电了。",
        "这个月的会议特别多。", "孩子们放学回来了。", "我去超市买了点水果。",
    ],
    "en": [
        "Lovely weather today, we went for a walk in the park.", "What should we have for dinner?",
        "Just finished a film, it was pretty good.", "Work has been busy lately, late every day.",
        "It might rain tomorrow, take an umbrella.", "I want to rest at home this weekend.",
        "A friend recommended a new restaurant.", "The metro was packed today.",
        "My phone is almost out of battery.", "So many meetings this month.",
        "The kids are back from school.", "I bought some fruit at the supermarket.",
    ],
    "ja": [
        "今日はいい天気ですね。", "晩ご飯は何にしよう？", "映画を見てきました。",
        "最近仕事が忙しいです。", "明日は雨が降るそうです。", "週末は家でゆっくりします。",
    ],
    "ko": [
        "오늘 날씨가 정말 좋네요.", "저녁에 뭐 먹을까요?", "영화를 보고 왔어요.",
        "요즘 일이 많이 바빠요.", "내일은 비가 온대요.", "주말에는 집에서 쉬고 싶어요.",
    ],
}  # fmt: skip

REPLIES = {
    "zh": "好的，记住了。",
    "en": "Got it, noted.",
    "ja": "わかりました。",
    "ko": "알겠어요.",
}


def conversations() -> dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]]:
    """Per language: the turns (ref, text) and the questions (question, evidence ref)."""
    facts = {
        "zh": [(fact, asked) for fact, asked, _, _ in PAIRS],
        "en": [(fact, asked) for _, _, fact, asked in PAIRS],
        "ja": JAPANESE,
        "ko": KOREAN,
    }
    made = {}
    for language, items in facts.items():
        talk = SMALL_TALK[language]
        turns: list[tuple[str, str]] = []
        questions = []
        for i, (fact, asked) in enumerate(items):
            for j in range(3):
                turns.append((f"{language}{len(turns)}", talk[(3 * i + j) % len(talk)]))
            ref = f"{language}{len(turns)}"
            turns.append((ref, fact))
            turns.append((f"{language}{len(turns)}", REPLIES[language]))
            questions.append((asked, ref))
        made[language] = (turns, questions)
    return made
